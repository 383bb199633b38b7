<#-- The approval channel's e-mail (DESIGN section 12): names the agent, links to the request's page. No token. -->
<html>
<body>
<p>${msg("agentCibaEmailBody", agentName, hostName?has_content?then(" (" + hostName + ")", ""))}</p>
<#if bindingMessage?has_content><p>${msg("agentCibaEmailCode", bindingMessage)}</p></#if>
<p><a href="${approvalUrl}">${msg("agentCibaEmailLink", approvalUrl)}</a></p>
<p>${msg("agentCibaEmailIgnore")}</p>
</body>
</html>
