package org.agentauth.keycloak.delegation.jpa;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The per-node note that keeps a grant's last-used time coarse (DESIGN section 3 rule 10). */
class JpaDelegationGrantProviderFactoryTest {

    private static final long MINUTE = JpaDelegationGrantProviderFactory.TOUCH_INTERVAL_MILLIS;

    @Test
    void oneCallerPerGrantAndMinuteRecordsTheUse() {
        JpaDelegationGrantProviderFactory f = new JpaDelegationGrantProviderFactory();
        long t = 1_000_000;
        assertTrue(f.claimTouch("g1", t));
        assertFalse(f.claimTouch("g1", t + 1), "a parallel use within the minute is not recorded again");
        assertFalse(f.claimTouch("g1", t + MINUTE - 1));
        assertTrue(f.claimTouch("g2", t + 1), "each grant on its own");
        assertTrue(f.claimTouch("g1", t + MINUTE), "after a minute the next use is recorded");
    }

    @Test
    void aUseThatWasNotRecordedLetsTheNextCallerTry() {
        JpaDelegationGrantProviderFactory f = new JpaDelegationGrantProviderFactory();
        long t = 5_000_000;
        assertTrue(f.claimTouch("g1", t));
        f.releaseTouch("g1", t + 1); // another claim's release leaves this one alone
        assertFalse(f.claimTouch("g1", t + 2));
        f.releaseTouch("g1", t);
        assertTrue(f.claimTouch("g1", t + 3));
    }
}
