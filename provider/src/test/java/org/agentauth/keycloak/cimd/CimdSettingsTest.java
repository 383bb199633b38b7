package org.agentauth.keycloak.cimd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class CimdSettingsTest {

    @Test
    void offByDefault() {
        assertFalse(CimdSettings.DEFAULT.enabled());
        assertTrue(CimdSettings.DEFAULT.problems().isEmpty());
    }

    @Test
    void problemsAreNamed() {
        CimdSettings s = new CimdSettings(true, List.of("ok.example", "not a host"), List.of("https://x"), -1, 10_000_000, List.of(""));
        List<String> p = s.problems();
        assertEquals(5, p.size(), p.toString());
        assertTrue(p.get(0).startsWith("maxClients"));
        assertTrue(p.get(1).startsWith("cacheSeconds"));
        assertTrue(p.get(2).startsWith("allowedHosts: "));
        assertTrue(p.get(3).startsWith("deniedHosts: "));
        assertTrue(p.get(4).startsWith("scopes"));
    }

    @Test
    void deniedWinsAndAnEmptyAllowListAllowsAny() {
        CimdSettings s = new CimdSettings(true, List.of(), List.of("*.evil.example", "bad.example"), 10, 60, null).normalized();
        assertTrue(s.hostPermitted("good.example"));
        assertFalse(s.hostPermitted("x.evil.example"));
        assertFalse(s.hostPermitted("bad.example"));
        CimdSettings only = new CimdSettings(true, List.of("*.Corp.example", "app.example"), List.of("x.corp.example"), 10, 60, null).normalized();
        assertEquals(List.of("*.corp.example", "app.example"), only.allowedHosts());
        assertTrue(only.hostPermitted("a.corp.example"));
        assertTrue(only.hostPermitted("app.example"));
        assertFalse(only.hostPermitted("x.corp.example"));
        assertFalse(only.hostPermitted("other.example"));
    }
}
