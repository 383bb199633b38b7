package org.agentauth.keycloak.delegation.jpa;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.util.Map;
import org.agentauth.keycloak.FuzzRuns;

/** The grant's CONNECTIONS column as the database could hold it: reading never fails and is stable once written back. */
class GrantColumnsFuzzTest {

    @FuzzTest(maxExecutions = FuzzRuns.LONG)
    void pairsReadAndWriteBackStably(FuzzedDataProvider data) {
        Map<String, String> read = JpaDelegationGrantProvider.splitPairs(data.consumeRemainingAsString());
        String written = JpaDelegationGrantProvider.joinPairs(read);
        assertEquals(read, JpaDelegationGrantProvider.splitPairs(written));
    }
}
