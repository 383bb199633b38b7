<#-- Agent consent (Keycloak Agent Auth, DESIGN section 6). Extension template: works with any login theme that
     provides template.ftl's registrationLayout. Every admin-provided value is auto-escaped (HTML output format);
     logo and policy URLs are only passed when they are absolute http(s) URLs. -->
<#import "template.ftl" as layout>
<@layout.registrationLayout bodyClass="oauth agent-consent"; section>
    <#if section = "header">
        <span id="agent-consent-title"><#if cibaPlain??>${msg("agentApprovalPlainTitle", agent.name)}<#else>${msg("agentConsentTitle", agent.name)}</#if></span>
    <#elseif section = "form">
        <div id="agent-consent" class="content-area">
            <div class="agent-consent-agent" style="display:flex;gap:1rem;align-items:flex-start;margin-bottom:1rem">
                <#if agent.logoUri??>
                    <img id="agent-consent-logo" src="${agent.logoUri}" alt="${msg('agentConsentLogoAlt', agent.name)}"
                         style="width:48px;height:48px;object-fit:contain;flex:none" referrerpolicy="no-referrer"/>
                </#if>
                <div>
                    <p style="margin:0"><strong id="agent-consent-agent-name">${agent.name}</strong>
                        <span style="color:#6a6e73">(${agent.clientId})</span></p>
                    <#if agent.description?has_content>
                        <p id="agent-consent-description" style="margin:.25rem 0 0 0">${agent.description}</p>
                    </#if>
                </div>
            </div>

            <#if cibaPlain??>
                <p id="agent-consent-request">${msg("agentApprovalPlainRequest", agent.name)}</p>
            <#elseif agentSelfHost??>
                <p id="agent-consent-request">${msg("agentApprovalSelfRequest", agent.name)}</p>
            <#else>
                <p id="agent-consent-request">${msg("agentConsentRequest", agent.name, agentHostName)}</p>
            </#if>
            <#if cimd??>
                <#-- the asking application is a client without registration (CIMD): what is known of it, and what is not -->
                <div id="agent-consent-cimd" style="border-left:3px solid #f0ab00;background:#fdf7e7;padding:.5rem .75rem;margin:.5rem 0 1rem 0">
                    <p style="margin:0">${msg("agentConsentCimdHost")}
                        <strong id="agent-consent-cimd-host" title="${cimd.fullHost}" style="display:block;font-size:1.25em;word-break:break-all">${cimd.host}</strong></p>
                    <p id="agent-consent-cimd-name" style="margin:.25rem 0 0 0">${msg("agentConsentCimdName", cimd.name)}</p>
                    <p id="agent-consent-cimd-redirect" style="margin:.25rem 0 0 0">${msg("agentConsentCimdRedirect", cimd.redirectHosts)}</p>
                    <#if cimd.allLoopback>
                        <p id="agent-consent-cimd-loopback" role="alert" style="margin:.25rem 0 0 0;font-weight:bold">${msg("agentConsentCimdLoopback")}</p>
                    </#if>
                </div>
            </#if>
            <#-- a request made without a browser (CIBA): what the agent says it is about to do, and the code it shows -->
            <#if agentBindingMessage??>
                <p id="agent-approval-binding" style="margin-top:.5rem">${msg("agentApprovalBinding")} <strong><code>${agentBindingMessage}</code></strong></p>
            </#if>
            <#if agentActionDescription??>
                <h2 class="pf-v5-c-title pf-m-md" style="margin-top:1rem">${msg("agentApprovalAction")}</h2>
                <p id="agent-approval-description" style="white-space:pre-line">${agentActionDescription}</p>
            </#if>
            <#if agentResource??>
                <p id="agent-consent-resource" style="margin-top:.5rem">${msg("agentConsentResource", agentResource.name, agentResource.uri)}</p>
            </#if>

            <h2 class="pf-v5-c-title pf-m-md" style="margin-top:1rem">${msg("agentConsentScopes")}</h2>
            <ul id="agent-consent-scopes" class="${properties.kcListClass!}">
                <#list agentScopes as s>
                    <li data-scope="${s.name}">${advancedMsg(s.text)}</li>
                <#else>
                    <li>${msg("agentConsentNoScopes")}</li>
                </#list>
            </ul>

            <#if !cibaPlain??>
            <h2 class="pf-v5-c-title pf-m-md" style="margin-top:1rem">${msg("agentConsentConnectors")}</h2>
            <#if agentConnectors?has_content>
                <ul id="agent-consent-connectors" class="${properties.kcListClass!}" style="list-style:none;padding-left:0">
                    <#list agentConnectors as c>
                        <li data-connector="${c.alias}" style="margin-bottom:.5rem">
                            <label for="agent-connection-${c.alias}"><strong>${c.name}</strong></label>
                            <span class="agent-consent-connector-delivery" style="display:block;color:#6a6e73"><#if c.releasesTokens>${msg("agentConsentConnectorTokens")}<#else>${msg("agentConsentConnectorProxy")}</#if></span>
                            <#if c.accounts?has_content>
                                <#-- the account this agent will use there; the form below submits it (form attribute) -->
                                <select id="agent-connection-${c.alias}" name="${c.field}" form="kc-agent-consent-form"
                                        class="${properties.kcInputClass!}" style="display:block;margin-top:.25rem;max-width:100%">
                                    <option value="">${msg("agentConsentAnyAccount")}</option>
                                    <#list c.accounts as a><option value="${a.id}">${a.label}</option></#list>
                                </select>
                            <#else>
                                <span class="agent-consent-no-account" style="display:block;color:#6a6e73">${msg("agentConsentNoAccount")}
                                    <#if c.connectUri??><a class="agent-consent-connect" href="${c.connectUri}" target="_blank" rel="noopener">${msg("agentConsentConnectAccount")}</a></#if>
                                </span>
                            </#if>
                        </li>
                    </#list>
                </ul>
            <#else>
                <p id="agent-consent-connectors">${msg("agentConsentNoConnectors")}</p>
            </#if>

            <h2 class="pf-v5-c-title pf-m-md" style="margin-top:1rem">${msg("agentConsentDownstream")}</h2>
            <#if agentDownstream?has_content>
                <ul id="agent-consent-downstream" class="${properties.kcListClass!}">
                    <#list agentDownstream as d><li>${d}</li></#list>
                </ul>
            <#else>
                <p id="agent-consent-downstream">${msg("agentConsentNoDownstream")}</p>
            </#if>

            <p id="agent-consent-lifetime" style="margin-top:1rem">
                <#if agentLifetimeDays gt 0>${msg("agentConsentLifetimeDays", agentLifetimeDays?c)}
                <#elseif agentLifetimeHours gt 0>${msg("agentConsentLifetimeHours", agentLifetimeHours?c)}
                <#else>${msg("agentConsentLifetimeUnlimited")}</#if>
                <#if agentAccountUrl??><a id="agent-consent-account" href="${agentAccountUrl}" target="_blank" rel="noopener">${msg("agentConsentRevokeHint")}</a><#else>${msg("agentConsentRevokeHint")}</#if>
            </p>

            </#if>

            <#if agent.policyUri?? || agent.tosUri??>
                <p id="agent-consent-links">
                    <#if agent.policyUri??><a id="agent-consent-policy" href="${agent.policyUri}" target="_blank" rel="noopener noreferrer">${msg("agentConsentPolicy")}</a></#if>
                    <#if agent.tosUri??> <a id="agent-consent-tos" href="${agent.tosUri}" target="_blank" rel="noopener noreferrer">${msg("agentConsentTos")}</a></#if>
                </p>
            </#if>

            <form id="kc-agent-consent-form" class="${properties.kcFormClass!}" action="${agentFormAction!url.loginAction}" method="post">
                <#-- what this page showed, so that Allow records exactly that (checked by the server) -->
                <input type="hidden" name="${agentFormAgent}" value="${agent.clientId}"/>
                <input type="hidden" name="${agentFormShown}" value="${agentShown}"/>
                <#if agentFormToken??><input type="hidden" name="form_token" value="${agentFormToken}"/></#if>
                <div style="display:flex;gap:.75rem;margin-top:1.25rem;width:100%">
                    <button class="${properties.kcButtonPrimaryClass!}" style="flex:1" name="${agentFormDecision}" id="kc-agent-allow" value="allow" type="submit">${msg("agentConsentAllow")}</button>
                    <button class="${properties.kcButtonSecondaryClass!}" style="flex:1" name="${agentFormDecision}" id="kc-agent-deny" value="deny" type="submit">${msg("agentConsentDeny")}</button>
                </div>
            </form>
        </div>
    </#if>
</@layout.registrationLayout>
