package org.agentauth.keycloak.agent;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Set;
import org.junit.jupiter.api.Test;

class ResourceServersTest {

    @Test
    void aRestrictedResourceServerAdmitsTheCimdHostsItNames() {
        String url = "https://app.example.com/client.json";
        // not restricted: every client, CIMD or not
        assertTrue(ResourceServers.admits(Set.of(), "any-client", null));
        assertTrue(ResourceServers.admits(Set.of(), url, "app.example.com"));
        // restricted to client ids: a CIMD client only when named by its id (its URL) or by its host
        assertTrue(ResourceServers.admits(Set.of("host-app"), "host-app", null));
        assertFalse(ResourceServers.admits(Set.of("host-app"), url, "app.example.com"));
        assertTrue(ResourceServers.admits(Set.of("host-app", url), url, "app.example.com"));
        assertTrue(ResourceServers.admits(Set.of("host-app", "cimd:app.example.com"), url, "app.example.com"));
        assertTrue(ResourceServers.admits(Set.of("cimd:*.example.com"), url, "app.example.com"));
        assertTrue(ResourceServers.admits(Set.of("cimd:*.example.com"), url, "a.b.example.com"));
        assertFalse(ResourceServers.admits(Set.of("cimd:*.example.com"), url, "example.com"), "the suffix itself is not below it");
        assertFalse(ResourceServers.admits(Set.of("cimd:*.example.com"), url, "app.evil-example.com"));
        assertFalse(ResourceServers.admits(Set.of("cimd:other.example"), url, "app.example.com"));
        assertFalse(ResourceServers.admits(Set.of("cimd:example.com"), url, "app.example.com"), "exact means exact");
        assertFalse(ResourceServers.admits(Set.of("cimd:*."), url, "app.example.com"));
        assertFalse(ResourceServers.admits(Set.of("cimd:"), url, "app.example.com"));
        // a registered client is never admitted by a cimd: entry, whatever its id looks like
        assertFalse(ResourceServers.admits(Set.of("cimd:app.example.com"), "app.example.com", null));
        assertFalse(ResourceServers.admits(Set.of("cimd:app.example.com"), url, null));
    }
}
