package org.agentauth.keycloak.admin;

import java.util.List;

/**
 * The body of {@code PUT /admin/realms/{realm}/agent-auth/cimd} (DESIGN section 11); a missing member takes its
 * default (off, no host lists, 100 clients, one hour, the realm's default and optional scopes).
 */
public class CimdSettingsRepresentation {
    public Boolean enabled;
    public List<String> allowedHosts;
    public List<String> deniedHosts;
    public Integer maxClients;
    public Integer cacheSeconds;
    public List<String> scopes;
}
