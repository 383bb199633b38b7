package org.agentauth.keycloak.account;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.net.URI;
import java.util.Locale;
import org.junit.jupiter.api.Test;

class AccountPageResourceTest {

    @Test
    void originsAreSchemeHostAndOnlyANonDefaultPort() {
        assertEquals("http://localhost:8080", AccountPageResource.originOf(URI.create("http://localhost:8080/")));
        assertEquals("https://id.example.com", AccountPageResource.originOf(URI.create("https://id.example.com:443/auth/")));
        assertEquals("http://id.example.com", AccountPageResource.originOf(URI.create("http://id.example.com/")));
        assertEquals("https://id.example.com:8443", AccountPageResource.originOf(URI.create("https://id.example.com:8443/")));
    }

    @Test
    void uiLocalesIsKeptOnlyWhenItLooksLikeLanguageTags() {
        assertEquals("de", AccountPageResource.localesHint("de"));
        assertEquals("de-CH en", AccountPageResource.localesHint(" de-CH en "));
        assertNull(AccountPageResource.localesHint(null));
        assertNull(AccountPageResource.localesHint(" "));
        assertNull(AccountPageResource.localesHint("de\"><script>"));
        assertNull(AccountPageResource.localesHint("x".repeat(101)));
    }

    @Test
    void timesAreWrittenInThePagesLanguageInUtc() {
        long t = 1_780_000_000_000L; // 2026-05-28T20:26:40Z
        assertEquals("28.05.2026, 20:26 UTC", AccountPageResource.time(t, Locale.GERMAN));
        String en = AccountPageResource.time(t, Locale.ENGLISH); // the space before PM differs between JDK versions
        assertEquals("May 28, 2026, 8:26", en.substring(0, 18));
        assertEquals("PM UTC", en.substring(en.length() - 6));
    }
}
