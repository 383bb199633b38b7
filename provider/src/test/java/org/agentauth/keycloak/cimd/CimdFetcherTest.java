package org.agentauth.keycloak.cimd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class CimdFetcherTest {

    @Test
    void jsonMediaTypes() {
        assertTrue(CimdFetcher.isJson("application/json"));
        assertTrue(CimdFetcher.isJson("Application/JSON; charset=utf-8"));
        assertTrue(CimdFetcher.isJson("application/oauth-client+json"));
        assertFalse(CimdFetcher.isJson("text/html"));
        assertFalse(CimdFetcher.isJson("text/json"));
        assertFalse(CimdFetcher.isJson(null));
    }

    @Test
    void cacheControl() {
        assertEquals(-1, CimdFetcher.maxAge(null));
        assertEquals(-1, CimdFetcher.maxAge("public"));
        assertEquals(300, CimdFetcher.maxAge("public, max-age=300"));
        assertEquals(0, CimdFetcher.maxAge("no-store"));
        assertEquals(0, CimdFetcher.maxAge("max-age=60, no-cache"));
        assertEquals(0, CimdFetcher.maxAge("max-age=abc"));
    }

    @Test
    void privateAddressesAreNeverFetched() {
        CimdServerSettings none = new CimdServerSettings() {
            @Override
            public boolean hostAllowListed(String host) {
                return false;
            }

            @Override
            public CimdRateBound rateBound() {
                return new CimdRateBound(1);
            }
        };
        for (String url : new String[] {"https://127.0.0.1/c.json", "https://[::1]/c.json", "https://10.1.2.3/c.json", "https://169.254.169.254/c",
                "https://[::ffff:127.0.0.1]/c", "https://[64:ff9b::a00:1]/c", "https://[2002:7f00:1::]/c", "https://[fe80::1]/c",
                "https://[::]/c", "https://0.0.0.0/c", "https://localhost/c", "https://192.168.1.1/c"}) {
            CimdFetcher.Result r = CimdFetcher.fetch(none, url);
            assertEquals("address_refused", r.outcome(), url);
        }
    }
}
