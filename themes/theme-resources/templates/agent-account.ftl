<#-- The self-service page (Keycloak Agent Auth, issue 14): the user's delegation grants and connected accounts.
     Extension template: works with any login theme that provides template.ftl's registrationLayout, like the consent
     screen. Every value is auto-escaped (HTML output format); client names and scope texts go through advancedMsg, as on
     Keycloak's own consent page; the logo URL is only passed when it is an absolute http(s) URL. Each revoke button
     posts the session's form token. -->
<#import "template.ftl" as layout>
<@layout.registrationLayout displayMessage=false bodyClass="agent-account"; section>
    <#if section = "header">
        <span id="agent-account-title">${msg("agentAccountTitle")}</span>
    <#elseif section = "form">
        <style>
            #agent-account h2 { margin: 1.5rem 0 .75rem 0; }
            #agent-account .agent-account-list { list-style: none; padding: 0; margin: 0; display: grid; gap: .75rem; }
            #agent-account .agent-account-item { border: 1px solid var(--pf-v5-global--BorderColor--100, #d2d2d2); border-radius: 6px; padding: .75rem 1rem; }
            #agent-account .agent-account-item-head { display: flex; gap: .75rem; align-items: center; justify-content: space-between; flex-wrap: wrap; }
            #agent-account .agent-account-muted { color: var(--pf-v5-global--Color--200, #6a6e73); }
            #agent-account dl.agent-account-facts { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; margin: .5rem 0 0 0; }
            #agent-account dl.agent-account-facts dt { color: var(--pf-v5-global--Color--200, #6a6e73); }
            #agent-account dl.agent-account-facts dd { margin: 0; }
            #agent-account dl.agent-account-facts ul { margin: 0; padding: 0; list-style: none; }
            #agent-account .agent-account-connector { margin-top: 1rem; }
            #agent-account .agent-account-connector h3 { display: flex; gap: .5rem; align-items: center; margin-bottom: .5rem; }
            #agent-account .agent-account-connector h3 img { width: 24px; height: 24px; object-fit: contain; }
            #agent-account form.agent-account-revoke { margin: 0; }
            #agent-account .agent-account-connect { display: inline-block; margin-top: .75rem; }
        </style>
        <div id="agent-account" class="content-area">
            <p id="agent-account-intro">${msg("agentAccountIntro", accountUser)}
                <a id="agent-account-console" href="${accountConsoleUrl}">${msg("agentAccountConsole")}</a></p>

            <#list accountNotices as n>
                <div class="pf-v5-c-alert pf-m-success pf-m-inline agent-account-notice" role="status" style="margin-top:1rem">
                    <p class="pf-v5-c-alert__title"><#if n.args?size == 0>${msg(n.key)}<#else>${msg(n.key, n.args[0], n.args[1])}</#if></p>
                </div>
            </#list>

            <#-- CIBA requests of agents and apps without a browser, waiting for this user's decision (DESIGN section 12) -->
            <#if accountApprovals?has_content>
                <h2 id="agent-account-approvals-title" class="pf-v5-c-title pf-m-lg">${msg("agentAccountApprovals")}</h2>
                <ul id="agent-account-approvals" class="agent-account-list">
                    <#list accountApprovals as a>
                        <li class="agent-account-item agent-account-approval" data-approval-id="${a.id}">
                            <div class="agent-account-item-head">
                                <div>
                                    <strong class="agent-account-agent">${a.who}</strong>
                                    <#if a.bindingMessage??><code class="agent-account-binding">${a.bindingMessage}</code></#if>
                                    <span class="agent-account-muted">${msg("agentAccountApprovalExpires", a.expiresAt)}</span>
                                </div>
                                <a class="agent-account-approval-open ${properties.kcButtonPrimaryClass!}" href="${a.url}">${msg("agentAccountApprovalOpen")}</a>
                            </div>
                        </li>
                    </#list>
                </ul>
            </#if>

            <h2 id="agent-account-agents-title" class="pf-v5-c-title pf-m-lg">${msg("agentAccountAgents")}</h2>
            <#if accountGrants?has_content>
                <ul id="agent-account-grants" class="agent-account-list">
                    <#list accountGrants as g>
                        <li class="agent-account-item agent-account-grant" data-grant-id="${g.id}" data-agent="${g.agentClientId}">
                            <div class="agent-account-item-head">
                                <div>
                                    <strong class="agent-account-agent">${advancedMsg(g.agentName)}</strong>
                                    <span class="agent-account-muted">(${g.agentClientId})</span>
                                    <#if !g.active><span class="pf-v5-c-label pf-m-red pf-m-compact"><span class="pf-v5-c-label__content">${msg("agentAccountExpiredLabel")}</span></span></#if>
                                </div>
                                <form class="agent-account-revoke" method="post" action="${accountAction}">
                                    <input type="hidden" name="form_token" value="${accountFormToken}"/>
                                    <input type="hidden" name="type" value="grant"/>
                                    <input type="hidden" name="id" value="${g.id}"/>
                                    <#if accountUiLocales??><input type="hidden" name="ui_locales" value="${accountUiLocales}"/></#if>
                                    <button type="submit" class="pf-v5-c-button pf-m-secondary pf-m-danger pf-m-small agent-account-revoke-grant"
                                            aria-label="${msg('agentAccountRevokeAgentLabel', advancedMsg(g.agentName))}">${msg("agentAccountRevokeAgent")}</button>
                                </form>
                            </div>
                            <dl class="agent-account-facts">
                                <dt>${msg("agentAccountHost")}</dt>
                                <dd class="agent-account-host">${advancedMsg(g.hostName)}</dd>
                                <dt>${msg("agentAccountScopes")}</dt>
                                <dd class="agent-account-scopes" data-scopes="${g.scopeNames}">
                                    <#if g.scopes?has_content><ul><#list g.scopes as s><li>${advancedMsg(s)}</li></#list></ul>
                                    <#else>${msg("agentConsentNoScopes")}</#if>
                                </dd>
                                <dt>${msg("agentAccountConnectors")}</dt>
                                <dd class="agent-account-connectors"><#if g.connectors?has_content>${g.connectors?join(", ")}<#else>${msg("agentAccountNone")}</#if></dd>
                                <dt>${msg("agentAccountExpires")}</dt>
                                <dd class="agent-account-expires"><#if g.expiresAt??>${g.expiresAt}<#else>${msg("agentAccountUntilRevoked")}</#if></dd>
                                <dt>${msg("agentAccountLastUsed")}</dt>
                                <dd class="agent-account-last-used"><#if g.lastUsedAt??>${g.lastUsedAt}<#else>${msg("agentAccountNever")}</#if></dd>
                                <dt>${msg("agentAccountGranted")}</dt>
                                <dd class="agent-account-created">${g.createdAt}</dd>
                            </dl>
                        </li>
                    </#list>
                </ul>
            <#else>
                <p id="agent-account-no-grants" class="agent-account-muted">${msg("agentAccountNoAgents")}</p>
            </#if>

            <h2 id="agent-account-connections-title" class="pf-v5-c-title pf-m-lg">${msg("agentAccountConnections")}</h2>
            <#list accountConnectors as c>
                <section class="agent-account-connector" data-connector="${c.alias}">
                    <h3 class="pf-v5-c-title pf-m-md"><#if c.logoUri??><img src="${c.logoUri}" alt="" referrerpolicy="no-referrer"/></#if><span class="agent-account-connector-name">${c.name}</span></h3>
                    <#if c.connections?has_content>
                        <ul class="agent-account-list">
                            <#list c.connections as k>
                                <li class="agent-account-item agent-account-connection" data-connection-id="${k.id}" data-status="${k.status}">
                                    <div class="agent-account-item-head">
                                        <div>
                                            <strong class="agent-account-account">${k.account}</strong>
                                            <#if k.status == "ACTIVE"><#assign color = "pf-m-green"><#elseif k.status == "EXPIRED"><#assign color = "pf-m-orange"><#else><#assign color = "pf-m-grey"></#if>
                                            <span class="pf-v5-c-label ${color} pf-m-compact agent-account-status"><span class="pf-v5-c-label__content">${msg("agentAccountStatus" + k.status)}</span></span>
                                        </div>
                                        <form class="agent-account-revoke" method="post" action="${accountAction}">
                                            <input type="hidden" name="form_token" value="${accountFormToken}"/>
                                            <input type="hidden" name="type" value="connection"/>
                                            <input type="hidden" name="id" value="${k.id}"/>
                                            <#if accountUiLocales??><input type="hidden" name="ui_locales" value="${accountUiLocales}"/></#if>
                                            <button type="submit" class="pf-v5-c-button pf-m-secondary pf-m-danger pf-m-small agent-account-revoke-connection"
                                                    aria-label="${msg('agentAccountDisconnectLabel', k.account, c.name)}">${msg("agentAccountDisconnect")}</button>
                                        </form>
                                    </div>
                                    <dl class="agent-account-facts">
                                        <dt>${msg("agentAccountConnectedAt")}</dt>
                                        <dd class="agent-account-created">${k.createdAt}</dd>
                                        <dt>${msg("agentAccountLastUsed")}</dt>
                                        <dd class="agent-account-last-used"><#if k.lastUsedAt??>${k.lastUsedAt}<#else>${msg("agentAccountNever")}</#if></dd>
                                    </dl>
                                </li>
                            </#list>
                        </ul>
                    <#else>
                        <p class="agent-account-muted agent-account-no-connection">${msg("agentAccountNoConnection")}</p>
                    </#if>
                    <a class="pf-v5-c-button pf-m-link pf-m-inline agent-account-connect" href="${c.connectUrl}"><#if c.connections?has_content>${msg("agentAccountConnectAnother")}<#else>${msg("agentAccountConnect")}</#if></a>
                </section>
            <#else>
                <p id="agent-account-no-connectors" class="agent-account-muted">${msg("agentAccountNoConnectors")}</p>
            </#list>
        </div>
    </#if>
</@layout.registrationLayout>
