package org.agentauth.keycloak.audit;

/** Detail keys the extension adds to Keycloak events (DESIGN section 7). Values never contain tokens. */
public final class AgentAuthEvents {

    public static final String AGENT = "agent";
    public static final String HOST = "host";
    public static final String ACT_CHAIN = "act_chain";
    public static final String SCOPE = "scope";
    public static final String GRANT_ID = "grant_id";
    public static final String OPERATION = "operation";
    public static final String RESOURCE = "resource";
    /** How a delegation grant came about: consent, consent_scope, preauthorized, admin. */
    public static final String ORIGIN = "origin";
    /** The binding message of a CIBA request (at most 50 plain characters, checked by Keycloak). */
    public static final String BINDING_MESSAGE = "binding_message";
    /** The id of a CIBA request's approval page (never the auth_req_id). */
    public static final String CIBA_REQUEST_ID = "ciba_request_id";
    public static final String CONNECTOR = "connector";
    public static final String CONNECTION_ID = "connection_id";

    /** Free-form admin event resource type for delegation grants. */
    public static final String ADMIN_RESOURCE_GRANT = "AGENT_AUTH_DELEGATION_GRANT";

    /** Free-form admin event resource type for an agent's policy (the {@code agent_auth.*} client attributes). */
    public static final String ADMIN_RESOURCE_AGENT_POLICY = "AGENT_AUTH_AGENT_POLICY";

    /** Free-form admin event resource type for a connector (a realm component; its client secret never recorded). */
    public static final String ADMIN_RESOURCE_CONNECTOR = "AGENT_AUTH_CONNECTOR";

    /** Free-form admin event resource type for a user's connected upstream account. */
    public static final String ADMIN_RESOURCE_CONNECTION = "AGENT_AUTH_CONNECTION";

    /** Free-form admin event resource type for the vault's keys (re-encryption). */
    public static final String ADMIN_RESOURCE_VAULT = "AGENT_AUTH_VAULT";

    /** Free-form admin event resource type for a realm's CIMD settings (clients identified by a metadata document). */
    public static final String ADMIN_RESOURCE_CIMD = "AGENT_AUTH_CIMD";

    private AgentAuthEvents() {
    }
}
