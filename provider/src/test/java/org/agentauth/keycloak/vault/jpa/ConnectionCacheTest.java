package org.agentauth.keycloak.vault.jpa;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.agentauth.keycloak.vault.UpstreamConnection;
import org.agentauth.keycloak.vault.crypto.TokenCipher.Sealed;
import org.agentauth.keycloak.vault.jpa.ConnectionCache.Invalidation;
import org.agentauth.keycloak.vault.jpa.ConnectionCache.Row;
import org.junit.jupiter.api.Test;

/** The node-local cache of connection rows (DESIGN section 10): what it serves, for how long, what a write drops. */
class ConnectionCacheTest {

    private static final long TTL = 30_000;

    private static Row row(String id, String realm, String user, String connector) {
        return new Row(new UpstreamConnection(id, realm, user, connector, "sub-" + id, "label", Set.of("openid"),
                UpstreamConnection.Status.ACTIVE, 1L, 1L, null, null, null, true, "k1", null, 0), new Sealed("k1", "v2.sealed-" + id));
    }

    @Test
    void servesWhatWasReadForTheSameRealmUserAndConnectorWithinItsTimeToLive() {
        ConnectionCache c = new ConnectionCache(TTL, 100);
        List<Row> rows = List.of(row("c1", "r1", "u1", "k"), row("c2", "r1", "u1", "k"));
        assertTrue(c.put("r1", "u1", "k", rows, c.mark(), 1_000));
        assertEquals(rows, c.get("r1", "u1", "k", 1_000 + TTL - 1));
        assertNull(c.get("r2", "u1", "k", 1_000), "another realm's rows are never served");
        assertNull(c.get("r1", "u2", "k", 1_000), "another user's");
        assertNull(c.get("r1", "u1", "other", 1_000), "another connector's");
        assertNull(c.get("r1", "u1", "k", 1_000 + TTL), "past its time to live the rows are read again");
        assertNull(c.get("r1", "u1", "k", 999), "a clock set back does not stretch the time to live");
        assertTrue(c.put("r1", "u9", "k", List.of(), c.mark(), 1_000));
        assertEquals(List.of(), c.get("r1", "u9", "k", 1_000), "no connection is an answer too (a link invalidates it)");
    }

    @Test
    void aReadBegunBeforeAnInvalidationIsNotCached() {
        ConnectionCache c = new ConnectionCache(TTL, 100);
        long mark = c.mark();
        c.invalidate(Invalidation.user("r1", "someone-else")); // any write
        assertFalse(c.put("r1", "u1", "k", List.of(row("c1", "r1", "u1", "k")), mark, 1_000));
        assertNull(c.get("r1", "u1", "k", 1_000));
    }

    @Test
    void eachInvalidationDropsWhatItNames() {
        ConnectionCache c = new ConnectionCache(TTL, 100);
        Runnable fill = () -> {
            c.clear();
            c.put("r1", "u1", "k1", List.of(row("c1", "r1", "u1", "k1")), c.mark(), 1_000);
            c.put("r1", "u1", "k2", List.of(row("c2", "r1", "u1", "k2")), c.mark(), 1_000);
            c.put("r1", "u2", "k1", List.of(row("c3", "r1", "u2", "k1")), c.mark(), 1_000);
            c.put("r2", "u1", "k1", List.of(row("c4", "r2", "u1", "k1")), c.mark(), 1_000);
        };
        record Case(Invalidation inv, int left, String survivor, String gone) {
        }
        for (Case k : List.of(new Case(Invalidation.connection("r1", "c2"), 3, "r1/u1/k1", "r1/u1/k2"),
                new Case(Invalidation.user("r1", "u1"), 2, "r2/u1/k1", "r1/u1/k2"),
                new Case(Invalidation.connector("r1", "k1"), 2, "r1/u1/k2", "r1/u2/k1"),
                new Case(Invalidation.realm("r1"), 1, "r2/u1/k1", "r1/u1/k1"),
                new Case(Invalidation.all(), 0, null, "r2/u1/k1"))) {
            fill.run();
            c.invalidate(k.inv());
            assertEquals(k.left(), c.size(), k.inv().toString());
            if (k.survivor() != null) {
                String[] s = k.survivor().split("/");
                assertNotNull(c.get(s[0], s[1], s[2], 1_000), k.inv() + " keeps " + k.survivor());
            }
            String[] g = k.gone().split("/");
            assertNull(c.get(g[0], g[1], g[2], 1_000), k.inv() + " drops " + k.gone());
        }
    }

    @Test
    void invalidationsTravelAsTextAndAnythingUnreadableDropsEverything() {
        for (Invalidation i : List.of(Invalidation.connection("r:1", "c1"), Invalidation.user("12", "f:ldap:alice"),
                Invalidation.connector("", "k1"), Invalidation.realm("realm with spaces"), Invalidation.all())) {
            assertEquals(i, Invalidation.decode(i.encode()));
        }
        for (String garbage : new String[] {null, "", "agent-auth-connection/", "agent-auth-connection/u9:r1",
                "agent-auth-connection/ux:r1u1", "agent-auth-connection/u2:r1", "agent-auth-connection/g2:r1c1",
                "agent-auth-grant/u2:r1u1", "something else"}) {
            assertEquals(Invalidation.all(), Invalidation.decode(garbage), String.valueOf(garbage));
        }
    }

    @Test
    void staysWithinItsSizeAndIsOffWhenConfiguredOff() {
        ConnectionCache c = new ConnectionCache(TTL, 10);
        for (int i = 0; i < 25; i++) {
            c.put("r1", "u" + i, "k", List.of(row("c" + i, "r1", "u" + i, "k")), c.mark(), 1_000);
            assertTrue(c.size() <= 10);
        }
        assertNotNull(c.get("r1", "u24", "k", 1_000), "the newest list is kept");
        ConnectionCache off = new ConnectionCache(0, 100);
        assertFalse(off.enabled());
        assertFalse(off.put("r1", "u1", "k", List.of(), off.mark(), 1_000));
    }

    /**
     * Readers (mark, read the "database", put) race a writer that removes the connection and then invalidates, as a
     * commit followed by the cluster message does: once the writer is done, no reader's put can bring the row back.
     */
    @Test
    void noReadRacingADisconnectPutsTheRemovedRowBack() throws Exception {
        for (int round = 0; round < 200; round++) {
            ConnectionCache c = new ConnectionCache(TTL, 1_000);
            AtomicReference<List<Row>> database = new AtomicReference<>(List.of(row("c1", "r1", "u1", "k")));
            AtomicBoolean done = new AtomicBoolean();
            List<Thread> readers = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                Thread reader = new Thread(() -> {
                    while (!done.get()) {
                        if (c.get("r1", "u1", "k", 1_000) == null) {
                            long mark = c.mark();
                            List<Row> read = database.get();
                            c.put("r1", "u1", "k", read, mark, 1_000);
                        }
                    }
                });
                readers.add(reader);
                reader.start();
            }
            Thread.sleep(1);
            database.set(List.of());
            c.invalidate(Invalidation.connection("r1", "c1"));
            done.set(true);
            for (Thread r : readers) {
                r.join();
            }
            List<Row> after = c.get("r1", "u1", "k", 1_000);
            assertTrue(after == null || after.isEmpty(), "round " + round + ": the removed row came back: " + after);
        }
    }
}
