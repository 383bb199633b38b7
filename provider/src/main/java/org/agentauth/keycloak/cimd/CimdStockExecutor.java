package org.agentauth.keycloak.cimd;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.keycloak.models.KeycloakSession;
import org.keycloak.models.RealmModel;
import org.keycloak.representations.idm.ClientPoliciesRepresentation;
import org.keycloak.representations.idm.ClientPolicyExecutorRepresentation;
import org.keycloak.representations.idm.ClientPolicyRepresentation;
import org.keycloak.representations.idm.ClientProfileRepresentation;
import org.keycloak.representations.idm.ClientProfilesRepresentation;
import org.keycloak.services.clientpolicy.ClientPolicyException;
import org.keycloak.services.clientpolicy.executor.ClientPolicyExecutorProvider;

/**
 * Keycloak's own CIMD (the experimental {@code cimd} feature): its executor {@code client-id-metadata-document} runs
 * from a client policy on {@code PRE_AUTHORIZATION_REQUEST}, after our hook. Where a realm has both, ours creates the
 * client, then the stock executor sees a client without its own cache attribute, fetches the document again without
 * address vetting and fails ("Client Identifier in use"). Ours therefore never runs beside it: turning ours on is
 * refused while such a policy is active, and a request in a realm that got one afterwards is refused, before any
 * fetch, with the policy's name. Where the feature is off, the executor's factory does not exist, so no policy can run
 * it and nothing is refused.
 */
public final class CimdStockExecutor {

    /** Keycloak's {@code ClientIdMetadataDocumentExecutorFactory.PROVIDER_ID}. */
    public static final String EXECUTOR = "client-id-metadata-document";

    private CimdStockExecutor() {
    }

    /**
     * The name of an active client policy of the realm (or a global one) whose profiles use Keycloak's CIMD executor,
     * or null when there is none, or when the executor does not exist on this server (the feature is off).
     */
    public static String activePolicy(KeycloakSession session, RealmModel realm) {
        if (session.getKeycloakSessionFactory().getProviderFactory(ClientPolicyExecutorProvider.class, EXECUTOR) == null) {
            return null;
        }
        ClientProfilesRepresentation profiles;
        ClientPoliciesRepresentation policies;
        try {
            profiles = session.clientPolicy().getClientProfiles(realm, true);
            policies = session.clientPolicy().getClientPolicies(realm, true);
        } catch (ClientPolicyException e) {
            return null;
        }
        Set<String> stockProfiles = new HashSet<>();
        List<ClientProfileRepresentation> allProfiles = new ArrayList<>();
        if (profiles != null) {
            addAll(allProfiles, profiles.getProfiles());
            addAll(allProfiles, profiles.getGlobalProfiles());
        }
        for (ClientProfileRepresentation p : allProfiles) {
            if (p.getExecutors() == null) {
                continue;
            }
            for (ClientPolicyExecutorRepresentation e : p.getExecutors()) {
                if (EXECUTOR.equals(e.getExecutorProviderId())) {
                    stockProfiles.add(p.getName());
                }
            }
        }
        if (stockProfiles.isEmpty() || policies == null) {
            return null;
        }
        List<ClientPolicyRepresentation> allPolicies = new ArrayList<>();
        addAll(allPolicies, policies.getPolicies());
        addAll(allPolicies, policies.getGlobalPolicies());
        for (ClientPolicyRepresentation p : allPolicies) {
            boolean active = Boolean.TRUE.equals(p.isEnabled()) || p.getMode() != null && !"disabled".equalsIgnoreCase(p.getMode());
            if (active && p.getProfiles() != null && p.getProfiles().stream().anyMatch(stockProfiles::contains)) {
                return p.getName();
            }
        }
        return null;
    }

    private static <T> void addAll(List<T> to, List<T> from) {
        if (from != null) {
            to.addAll(from);
        }
    }

    /** Why ours does not run beside it: safe to show (names only the policy). */
    public static String reason(String policy) {
        return "this realm's client policy '" + policy + "' uses Keycloak's own " + EXECUTOR
                + " executor; Agent Auth's clients without registration do not run beside it: disable that policy first";
    }
}
