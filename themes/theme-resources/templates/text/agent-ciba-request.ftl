<#ftl output_format="plainText">
${msg("agentCibaEmailBody", agentName, hostName?has_content?then(" (" + hostName + ")", ""))}
<#if bindingMessage?has_content>${msg("agentCibaEmailCode", bindingMessage)}
</#if>

${msg("agentCibaEmailLink", approvalUrl)}

${msg("agentCibaEmailIgnore")}
