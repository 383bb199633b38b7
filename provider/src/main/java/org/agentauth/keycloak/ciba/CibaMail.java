package org.agentauth.keycloak.ciba;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.jboss.logging.Logger;
import org.keycloak.email.EmailException;
import org.keycloak.email.EmailTemplateProvider;
import org.keycloak.models.AbstractKeycloakTransaction;
import org.keycloak.models.ClientModel;
import org.keycloak.models.KeycloakSession;
import org.keycloak.models.KeycloakSessionFactory;
import org.keycloak.models.RealmModel;
import org.keycloak.models.UserModel;
import org.keycloak.models.utils.KeycloakModelUtils;
import org.keycloak.urls.UrlType;

/**
 * The e-mail of the approval channel: when the realm has SMTP settings and the user an e-mail address, the message names
 * the agent (or client) and links to the request's approval page. It carries no token and no {@code auth_req_id}. It is
 * sent once the request is stored (after commit, as Keycloak's own e-mail event listener does); a failure is logged
 * (never the link) and never fails the request.
 */
final class CibaMail {

    private static final Logger LOG = Logger.getLogger(CibaMail.class);
    static final String TEMPLATE = "agent-ciba-request.ftl";
    static final String SUBJECT = "agentCibaEmailSubject";

    private CibaMail() {
    }

    /** The approval page of a request. */
    static String approvalUrl(KeycloakSession session, RealmModel realm, String requestId) {
        return session.getContext().getUri(UrlType.FRONTEND).getBaseUriBuilder().path("realms").path(realm.getName())
                .path("agent-auth").path("account").path("approvals").path(requestId).build().toString();
    }

    static void sendAfterCommit(KeycloakSession session, RealmModel realm, UserModel user, ClientModel client, ClientModel agent,
            String requestId, String bindingMessage) {
        Map<String, String> smtp = realm.getSmtpConfig();
        if (smtp == null || smtp.get("host") == null || smtp.get("host").isBlank() || user.getEmail() == null || user.getEmail().isBlank()) {
            return;
        }
        String realmId = realm.getId();
        String userId = user.getId();
        String link = approvalUrl(session, realm, requestId);
        String who = name(agent != null ? agent : client);
        String via = agent != null ? name(client) : null;
        KeycloakSessionFactory factory = session.getKeycloakSessionFactory();
        session.getTransactionManager().enlistAfterCompletion(new AbstractKeycloakTransaction() {
            @Override
            protected void commitImpl() {
                try {
                    KeycloakModelUtils.runJobInTransaction(factory, s -> {
                        RealmModel r = s.realms().getRealm(realmId);
                        if (r == null) {
                            return;
                        }
                        s.getContext().setRealm(r);
                        UserModel u = s.users().getUserById(r, userId);
                        if (u == null) {
                            return;
                        }
                        Map<String, Object> attrs = new HashMap<>();
                        attrs.put("agentName", who);
                        attrs.put("hostName", via == null ? "" : via);
                        attrs.put("bindingMessage", bindingMessage == null ? "" : bindingMessage);
                        attrs.put("approvalUrl", link);
                        try {
                            s.getProvider(EmailTemplateProvider.class).setRealm(r).setUser(u).send(SUBJECT, List.of(who), TEMPLATE, attrs);
                        } catch (EmailException e) {
                            LOG.warnf("Could not send the CIBA approval e-mail for request %s in realm %s: %s", requestId, r.getName(),
                                    e.getCause() != null ? e.getCause().getClass().getSimpleName() : e.getClass().getSimpleName());
                        }
                    });
                } catch (RuntimeException e) {
                    // the request is stored and answered: the page lists it whatever became of the e-mail
                    LOG.warnf("Could not send the CIBA approval e-mail for request %s: %s", requestId, e.getClass().getSimpleName());
                }
            }

            @Override
            protected void rollbackImpl() {
            }
        });
    }

    private static String name(ClientModel c) {
        return c.getName() == null || c.getName().isBlank() ? c.getClientId() : c.getName();
    }
}
