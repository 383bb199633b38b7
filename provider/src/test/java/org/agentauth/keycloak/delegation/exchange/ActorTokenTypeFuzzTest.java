package org.agentauth.keycloak.delegation.exchange;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.util.Locale;
import org.agentauth.keycloak.FuzzRuns;

/**
 * The actor JWT's {@code typ} check: only {@code actor+jwt} (with or without {@code application/}, any case) passes;
 * anything else, including look-alikes with spaces, parameters or control characters, is refused, never an exception.
 */
class ActorTokenTypeFuzzTest {

    @FuzzTest(maxExecutions = FuzzRuns.LONG)
    void onlyTheActorJwtTypePasses(FuzzedDataProvider data) {
        String typ = data.consumeRemainingAsString();
        boolean ok = ActorTokenVerifier.isActorJwtType(typ);
        String t = typ.toLowerCase(Locale.ROOT);
        if (ok) {
            assertTrue(t.equals("actor+jwt") || t.equals("application/actor+jwt"), typ);
        }
    }
}
