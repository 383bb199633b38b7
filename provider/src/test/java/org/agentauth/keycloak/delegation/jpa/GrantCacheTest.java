package org.agentauth.keycloak.delegation.jpa;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.agentauth.keycloak.delegation.DelegationGrant;
import org.agentauth.keycloak.delegation.jpa.GrantCache.Invalidation;
import org.junit.jupiter.api.Test;

/** The node-local grant cache (DESIGN section 10): what it serves, for how long, and what a write makes it drop. */
class GrantCacheTest {

    private static final long TTL = 30_000;

    private static DelegationGrant grant(String id, String user, String agent, String host) {
        return new DelegationGrant(id, user, agent, host, Set.of("read"), Set.of(), Map.of(), Set.of(), 1L, null, null,
                DelegationGrant.ORIGIN_CONSENT);
    }

    @Test
    void servesWhatWasReadByIdAndByTripleWithinItsRealmAndTimeToLive() {
        GrantCache c = new GrantCache(TTL, 100);
        DelegationGrant g = grant("g1", "u1", "a1", "h1");
        assertTrue(c.put("r1", g, c.mark(), 1_000));
        assertSame(g, c.byId("r1", "g1", 1_000));
        assertSame(g, c.byTriple("r1", "u1", "a1", "h1", 1_000 + TTL - 1));
        assertNull(c.byId("r2", "g1", 1_000), "another realm's row is never served");
        assertNull(c.byTriple("r2", "u1", "a1", "h1", 1_000));
        assertNull(c.byId("r1", "g1", 1_000 + TTL), "past its time to live the row is read again");
        assertNull(c.byId("r1", "g1", 999), "a clock set back does not stretch the time to live");
        assertNull(c.byTriple("r1", "u1", "a2", "h1", 1_000));
    }

    @Test
    void aReadBegunBeforeAnInvalidationIsNotCached() {
        GrantCache c = new GrantCache(TTL, 100);
        long mark = c.mark();
        c.invalidate(Invalidation.grant("r1", "other")); // any write, even of another grant
        assertFalse(c.put("r1", grant("g1", "u1", "a1", "h1"), mark, 1_000));
        assertNull(c.byId("r1", "g1", 1_000));
        assertTrue(c.put("r1", grant("g1", "u1", "a1", "h1"), c.mark(), 1_000));
    }

    @Test
    void eachInvalidationDropsWhatItNames() {
        GrantCache c = new GrantCache(TTL, 100);
        Runnable fill = () -> {
            c.clear();
            c.put("r1", grant("g1", "u1", "a1", "h1"), c.mark(), 1_000);
            c.put("r1", grant("g2", "u2", "a2", "h1"), c.mark(), 1_000);
            c.put("r2", grant("g3", "u1", "a1", "h2"), c.mark(), 1_000);
        };
        fill.run();
        c.invalidate(Invalidation.grant("r1", "g1"));
        assertNull(c.byId("r1", "g1", 1_000));
        assertNull(c.byTriple("r1", "u1", "a1", "h1", 1_000));
        assertEquals(2, c.size());

        fill.run();
        c.invalidate(Invalidation.user("r1", "u1"));
        assertNull(c.byId("r1", "g1", 1_000));
        assertTrue(c.byId("r2", "g3", 1_000) != null, "the same user id in another realm stays");

        fill.run();
        c.invalidate(Invalidation.client("r1", "h1")); // as host
        assertNull(c.byId("r1", "g1", 1_000));
        assertNull(c.byId("r1", "g2", 1_000));
        assertEquals(1, c.size());
        fill.run();
        c.invalidate(Invalidation.client("r1", "a2")); // as agent
        assertNull(c.byId("r1", "g2", 1_000));
        assertEquals(2, c.size());

        fill.run();
        c.invalidate(Invalidation.realm("r1"));
        assertEquals(1, c.size());

        fill.run();
        c.invalidate(Invalidation.all());
        assertEquals(0, c.size());
    }

    @Test
    void invalidationsTravelAsTextAndAnythingUnreadableDropsEverything() {
        for (Invalidation i : List.of(Invalidation.grant("r:1", "g1"), Invalidation.user("12", "f:ldap:alice"),
                Invalidation.client("", "c1"), Invalidation.realm("realm with spaces"), Invalidation.all())) {
            assertEquals(i, Invalidation.decode(i.encode()));
        }
        for (String garbage : new String[] {null, "", "agent-auth-grant/", "agent-auth-grant/g", "agent-auth-grant/g9:r1",
                "agent-auth-grant/gx:r1g1", "agent-auth-grant/g2:r1", "agent-auth-grant/q2:r1g1", "something else"}) {
            assertEquals(Invalidation.all(), Invalidation.decode(garbage), String.valueOf(garbage));
        }
    }

    @Test
    void staysWithinItsSize() {
        GrantCache c = new GrantCache(TTL, 10);
        for (int i = 0; i < 25; i++) {
            c.put("r1", grant("g" + i, "u" + i, "a", "h"), c.mark(), 1_000);
            assertTrue(c.size() <= 10);
        }
        assertTrue(c.byId("r1", "g24", 1_000) != null, "the newest row is kept");
    }

    @Test
    void offWhenConfiguredOff() {
        GrantCache c = new GrantCache(0, 100);
        assertFalse(c.enabled());
        assertFalse(c.put("r1", grant("g1", "u1", "a1", "h1"), c.mark(), 1_000));
        assertNull(c.byId("r1", "g1", 1_000));
    }

    /**
     * Readers (mark, read the "database", put) race a writer that deletes the row and then invalidates, as a commit
     * followed by the cluster message does: once the writer is done, no reader's put can bring the row back.
     */
    @Test
    void noReadRacingARevocationPutsTheRevokedRowBack() throws Exception {
        for (int round = 0; round < 200; round++) {
            GrantCache c = new GrantCache(TTL, 100);
            DelegationGrant g = grant("g1", "u1", "a1", "h1");
            AtomicReference<DelegationGrant> db = new AtomicReference<>(g);
            AtomicBoolean stop = new AtomicBoolean();
            List<Thread> readers = new ArrayList<>();
            for (int t = 0; t < 3; t++) {
                Thread r = new Thread(() -> {
                    while (!stop.get()) {
                        if (c.byId("r1", "g1", 1_000) == null) {
                            long mark = c.mark();
                            DelegationGrant row = db.get();
                            if (row != null) {
                                c.put("r1", row, mark, 1_000);
                            }
                        }
                    }
                });
                readers.add(r);
                r.start();
            }
            Thread.sleep(0, 50_000);
            db.set(null); // the commit
            c.invalidate(Invalidation.grant("r1", "g1")); // the message, after the commit
            // the revoking request answers here: from now on nothing may serve the row
            for (int i = 0; i < 1_000; i++) {
                assertNull(c.byId("r1", "g1", 1_000), "round " + round);
            }
            stop.set(true);
            for (Thread r : readers) {
                r.join();
            }
            assertNull(c.byId("r1", "g1", 1_000), "round " + round);
        }
    }
}
