package org.agentauth.keycloak.token;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import org.agentauth.keycloak.FuzzRuns;

/**
 * The {@code act} claim of any JSON a token could carry: parsing fails only with the documented
 * IllegalArgumentException, never goes deeper than the limit, and a parsed chain survives its own claim form.
 */
class ActChainFuzzTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @FuzzTest(maxExecutions = FuzzRuns.LONG)
    void parseOnlyRefusesAndRoundTrips(FuzzedDataProvider data) {
        Object act;
        try {
            act = JSON.readValue(data.consumeRemainingAsString(), Object.class);
        } catch (IOException e) {
            return; // not JSON: Keycloak would not have parsed the token either
        }
        ActChain chain;
        try {
            chain = ActChain.parse(act);
        } catch (IllegalArgumentException e) {
            assertNotNull(e.getMessage());
            return;
        }
        assertTrue(chain.depth() <= ActChain.MAX_PARSE_DEPTH);
        assertNotNull(chain.describe());
        if (!chain.isEmpty()) {
            assertEquals(chain.actors(), ActChain.parse(chain.toClaim()).actors());
            assertEquals(chain.depth(), chain.clientIdsFromFirst().size());
        }
    }
}
