<#-- The end of a connect flow without a return_to, or an error on the way; also the self-service page's errors, with a
     link back to it (Keycloak Agent Auth). -->
<#import "template.ftl" as layout>
<@layout.registrationLayout displayMessage=false bodyClass="agent-connect-result"; section>
    <#if section = "header">
        <span id="agent-connect-result-title">${msg(connectTitle)}</span>
    <#elseif section = "form">
        <div id="agent-connect-result" class="content-area" data-ok="${connectOk?c}">
            <p id="agent-connect-result-message"><#if connectArgs?size == 0>${msg(connectMessage)}<#elseif connectArgs?size == 1>${msg(connectMessage, connectArgs[0])}<#else>${msg(connectMessage, connectArgs[0], connectArgs[1])}</#if></p>
            <#if connectBackUrl??><p style="margin-top:1rem"><a id="agent-connect-result-back" href="${connectBackUrl}">${msg("agentAccountBack")}</a></p></#if>
        </div>
    </#if>
</@layout.registrationLayout>
