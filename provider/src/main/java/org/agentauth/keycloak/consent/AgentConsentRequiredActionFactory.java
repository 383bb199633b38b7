package org.agentauth.keycloak.consent;

import com.google.auto.service.AutoService;
import org.agentauth.keycloak.support.RealmJobs;
import org.keycloak.Config;
import org.keycloak.authentication.RequiredActionFactory;
import org.keycloak.authentication.RequiredActionProvider;
import org.keycloak.models.KeycloakSession;
import org.keycloak.models.KeycloakSessionFactory;
import org.keycloak.models.RealmModel;
import org.keycloak.models.utils.PostMigrationEvent;

/**
 * The agent consent required action. It registers itself in every realm at start-up and in every realm created or
 * imported later (each realm in its own transaction at start-up, so one realm's failure leaves the others alone), so
 * an admin installs nothing but the JAR. Logins never register it: the authorization endpoint only reads whether it is
 * there and enabled.
 */
@AutoService(RequiredActionFactory.class)
public class AgentConsentRequiredActionFactory implements RequiredActionFactory {

    @Override
    public RequiredActionProvider create(KeycloakSession session) {
        return new AgentConsentRequiredAction();
    }

    @Override
    public String getDisplayText() {
        return "Agent consent (Agent Auth)";
    }

    @Override
    public void init(Config.Scope config) {
    }

    @Override
    public void postInit(KeycloakSessionFactory factory) {
        factory.register(event -> {
            if (event instanceof PostMigrationEvent) {
                RealmJobs.eachRealmInOwnTransaction(factory, "register required action " + AgentConsentRequiredAction.PROVIDER_ID,
                        (s, realm) -> AgentConsentRequiredAction.ensureRegistered(realm));
            } else if (event instanceof RealmModel.RealmPostCreateEvent created) {
                AgentConsentRequiredAction.ensureRegistered(created.getCreatedRealm());
            }
        });
    }

    @Override
    public void close() {
    }

    @Override
    public String getId() {
        return AgentConsentRequiredAction.PROVIDER_ID;
    }
}
