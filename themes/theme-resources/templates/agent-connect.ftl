<#-- Connect an upstream account (Keycloak Agent Auth, DESIGN section 5). Extension template: works with any login theme
     that provides template.ftl's registrationLayout. Admin-provided text is auto-escaped; the logo URL is only passed
     when it is an absolute http(s) URL. Allow and Deny post a one-time token bound to the user's session. -->
<#import "template.ftl" as layout>
<@layout.registrationLayout bodyClass="oauth agent-connect"; section>
    <#if section = "header">
        <span id="agent-connect-title">${msg("agentConnectTitle", connector.name)}</span>
    <#elseif section = "form">
        <div id="agent-connect" class="content-area">
            <div style="display:flex;gap:1rem;align-items:center;margin-bottom:1rem">
                <#if connector.logoUri??>
                    <img id="agent-connect-logo" src="${connector.logoUri}" alt="" style="width:48px;height:48px;object-fit:contain;flex:none" referrerpolicy="no-referrer"/>
                </#if>
                <p style="margin:0"><strong id="agent-connect-connector">${connector.name}</strong>
                    <span style="color:#6a6e73">(${connector.alias})</span></p>
            </div>
            <p id="agent-connect-request">
                <#if connectClient??>${msg("agentConnectRequestBy", connectClient, connector.name, connectUser)}
                <#else>${msg("agentConnectRequest", connector.name, connectUser)}</#if>
            </p>
            <#if connectScopes?has_content>
                <h2 class="pf-v5-c-title pf-m-md" style="margin-top:1rem">${msg("agentConnectScopes")}</h2>
                <ul id="agent-connect-scopes" class="${properties.kcListClass!}">
                    <#list connectScopes as s><li>${s}</li></#list>
                </ul>
            </#if>
            <#if connectLinked?has_content>
                <p id="agent-connect-linked" style="margin-top:1rem">${msg("agentConnectAlreadyLinked", connectLinked?join(", "))}</p>
            </#if>
            <p id="agent-connect-storage" style="margin-top:1rem;color:#6a6e73"><#if connector.releasesTokens == "true">${msg("agentConnectStorageTokens")}<#else>${msg("agentConnectStorage")}</#if></p>
            <form id="kc-agent-connect-form" class="${properties.kcFormClass!}" action="${connectAction}" method="post">
                <input type="hidden" name="pending" value="${connectPending}"/>
                <div style="display:flex;gap:.75rem;margin-top:1.25rem;width:100%">
                    <button class="${properties.kcButtonPrimaryClass!}" style="flex:1" name="decision" id="kc-agent-connect-allow" value="allow" type="submit">${msg("agentConnectAllow")}</button>
                    <button class="${properties.kcButtonSecondaryClass!}" style="flex:1" name="decision" id="kc-agent-connect-deny" value="deny" type="submit">${msg("agentConnectDeny")}</button>
                </div>
            </form>
        </div>
    </#if>
</@layout.registrationLayout>
