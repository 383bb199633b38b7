package org.agentauth.keycloak.vault.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.net.URI;
import java.util.Locale;
import org.agentauth.keycloak.FuzzRuns;

/**
 * The brokered proxy's path, query and header rules (DESIGN section 5) under arbitrary input: an accepted request never
 * leaves the connector's API base URL (same scheme, host, port, below the base path, no dot segment, no fragment), never
 * forwards {@code connection_id}, and the only failure is the documented refusal.
 */
class ProxyRulesFuzzTest {

    private static final String[] BASES = {"https://api.example.com/v1", "https://api.example.com", "http://localhost:8080/realms/up/protocol/openid-connect/"};

    @FuzzTest(maxExecutions = FuzzRuns.LONG)
    void upstreamNeverLeavesTheBase(FuzzedDataProvider data) {
        String base = data.pickValue(BASES);
        String path = data.consumeString(400);
        String query = data.consumeRemainingAsString();
        URI target;
        try {
            target = ProxyRules.upstream(base, path, query);
        } catch (ProxyRules.Refused e) {
            assertTrue(e.getMessage() != null && !e.getMessage().isBlank());
            return;
        }
        URI b = URI.create(base.endsWith("/") ? base.substring(0, base.length() - 1) : base);
        assertEquals(b.getScheme(), target.getScheme());
        assertEquals(b.getHost(), target.getHost());
        assertEquals(b.getPort(), target.getPort());
        assertNull(target.getRawFragment(), target.toString());
        assertNull(target.getRawUserInfo(), target.toString());
        String basePath = b.getRawPath() == null ? "" : b.getRawPath();
        assertTrue(target.getRawPath().startsWith(basePath), target.toString());
        String below = target.getRawPath().substring(basePath.length());
        for (String seg : below.split("/")) {
            String lower = seg.toLowerCase(Locale.ROOT);
            assertFalse(seg.equals(".") || seg.equals("..") || lower.contains("%2e") || lower.contains("%2f")
                    || lower.contains("%5c") || lower.contains("%00"), target.toString());
        }
        // the normalised URI is the same: nothing a client library would resolve differently
        assertEquals(target.getRawPath(), target.normalize().getRawPath(), target.toString());
        String q = target.getRawQuery();
        if (q != null) {
            for (String pair : q.split("&", -1)) {
                assertFalse(pair.equals("connection_id") || pair.startsWith("connection_id="), target.toString());
            }
        }
    }

    @FuzzTest(maxExecutions = FuzzRuns.LONG)
    void connectionParamAndHeadersNeverFail(FuzzedDataProvider data) {
        String query = data.consumeString(500);
        ProxyRules.connectionParam(query);
        String header = data.consumeRemainingAsString();
        boolean forwarded = ProxyRules.forwardsRequestHeader(header);
        String h = header.toLowerCase(Locale.ROOT);
        if (forwarded) {
            assertTrue(ProxyRules.REQUEST_HEADERS.contains(h), header);
        }
        if (h.equals("cookie") || h.equals("authorization") || h.equals("forwarded") || h.startsWith("x-forwarded-")
                || h.equals("host") || h.equals("upgrade") || h.equals("proxy-authorization")) {
            assertFalse(forwarded, header);
        }
        if (h.equals("set-cookie") || h.equals("set-cookie2") || h.equals("www-authenticate") || h.equals("location")) {
            assertFalse(ProxyRules.passesResponseHeader(header), header);
        }
    }
}
