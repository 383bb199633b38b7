package org.agentauth.keycloak.support;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class SingleFlightCacheTest {

    private final AtomicLong now = new AtomicLong(1_000_000);
    private final SingleFlightCache<String, String> cache = new SingleFlightCache<>(30_000, 5_000, now::get);
    private final ExecutorService pool = Executors.newFixedThreadPool(16);

    @AfterEach
    void stop() {
        pool.shutdownNow();
    }

    /** A build that counts its runs and, when asked, waits until released (so that callers pile up meanwhile). */
    private static final class Build implements Supplier<String> {
        final AtomicInteger runs = new AtomicInteger();
        final CountDownLatch started = new CountDownLatch(1);
        final CountDownLatch release;

        Build(boolean blocking) {
            this.release = new CountDownLatch(blocking ? 1 : 0);
        }

        @Override
        public String get() {
            int n = runs.incrementAndGet();
            started.countDown();
            try {
                if (!release.await(10, TimeUnit.SECONDS)) {
                    throw new IllegalStateException("never released");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
            return "v" + n;
        }
    }

    private List<Future<SingleFlightCache.Entry<String>>> concurrently(int n, Supplier<SingleFlightCache.Entry<String>> call) {
        List<Future<SingleFlightCache.Entry<String>>> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(pool.submit(call::get));
        }
        return out;
    }

    @Test
    void concurrentCallersOfAMissingKeyShareOneBuild() throws Exception {
        Build build = new Build(true);
        List<Future<SingleFlightCache.Entry<String>>> calls = concurrently(16, () -> cache.get("realm", build));
        assertTrue(build.started.await(5, TimeUnit.SECONDS));
        Thread.sleep(200); // let the other fifteen arrive while the build runs
        build.release.countDown();
        for (Future<SingleFlightCache.Entry<String>> f : calls) {
            assertEquals("v1", f.get(5, TimeUnit.SECONDS).value());
        }
        assertEquals(1, build.runs.get(), "one build for sixteen concurrent callers");
        assertEquals("v1", cache.get("realm", build).value(), "kept");
        assertEquals(1, build.runs.get());
    }

    @Test
    void anExpiredValueIsRebuiltOnceAndNeverServedPastItsAge() throws Exception {
        Build first = new Build(false);
        assertEquals("v1", cache.get("realm", first).value());
        now.addAndGet(30_000);
        assertEquals("v1", cache.get("realm", first).value(), "exactly at the age limit: still fresh");
        now.addAndGet(1);
        Build second = new Build(true);
        List<Future<SingleFlightCache.Entry<String>>> calls = concurrently(16, () -> cache.get("realm", second));
        assertTrue(second.started.await(5, TimeUnit.SECONDS));
        Thread.sleep(200);
        second.release.countDown();
        for (Future<SingleFlightCache.Entry<String>> f : calls) {
            assertEquals("v1", f.get(5, TimeUnit.SECONDS).value(), "the new build's value, not the expired one");
            assertEquals(now.get(), f.get().builtAt());
        }
        assertEquals(1, second.runs.get(), "one rebuild for sixteen concurrent callers");
    }

    @Test
    void keysAreIndependent() {
        Build a = new Build(false);
        Build b = new Build(false);
        cache.get("a", a);
        cache.get("b", b);
        cache.get("a", a);
        assertEquals(1, a.runs.get());
        assertEquals(1, b.runs.get());
    }

    @Test
    void refreshRebuildsAnOutdatedValueOnceAcrossCallers() {
        Build build = new Build(false);
        SingleFlightCache.Entry<String> seen = cache.get("realm", build);
        SingleFlightCache.Entry<String> newer = cache.refresh("realm", seen, build);
        assertNotSame(seen, newer);
        assertEquals("v2", newer.value());
        // a second caller that saw the same outdated value gets the newer one without another build
        assertSame(newer, cache.refresh("realm", seen, build));
        assertEquals(2, build.runs.get());
    }

    @Test
    void invalidationForgetsTheValueAndDropsABuildThatWasRunning() throws Exception {
        Build first = new Build(false);
        cache.get("realm", first);
        cache.invalidate("realm");
        assertEquals("v2", cache.get("realm", first).value(), "built anew after invalidation");

        Build slow = new Build(true);
        cache.invalidate("realm");
        Future<SingleFlightCache.Entry<String>> running = pool.submit(() -> cache.get("realm", slow));
        assertTrue(slow.started.await(5, TimeUnit.SECONDS));
        cache.invalidate("realm"); // the change happened while the build was reading the old state
        Build after = new Build(false);
        assertEquals("v1", cache.get("realm", after).value(), "a caller after the invalidation does not join the old build");
        slow.release.countDown();
        assertEquals("v1", running.get(5, TimeUnit.SECONDS).value());
        assertEquals("v1", cache.get("realm", after).value(), "the old build's result was not kept");
        assertEquals(1, after.runs.get());
    }

    @Test
    void aFailedBuildFailsItsOwnCallerOnlyAndIsNotKept() throws Exception {
        CountDownLatch failing = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        Future<SingleFlightCache.Entry<String>> leader = pool.submit(() -> cache.get("realm", () -> {
            failing.countDown();
            try {
                release.await(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            throw new IllegalStateException("database down");
        }));
        assertTrue(failing.await(5, TimeUnit.SECONDS));
        Build own = new Build(false);
        Future<SingleFlightCache.Entry<String>> follower = pool.submit(() -> cache.get("realm", own));
        Thread.sleep(200);
        release.countDown();
        Exception e = assertThrows(java.util.concurrent.ExecutionException.class, () -> leader.get(5, TimeUnit.SECONDS));
        assertTrue(e.getCause() instanceof IllegalStateException);
        assertEquals("v1", follower.get(5, TimeUnit.SECONDS).value(), "the waiting caller built for itself");
        Build next = new Build(false);
        assertEquals("v1", cache.get("realm", next).value(), "nothing kept from the failure: the next caller builds");
    }

    @Test
    void aCallerWaitsForAnotherBuildOnlyUpToItsLimit() throws Exception {
        SingleFlightCache<String, String> impatient = new SingleFlightCache<>(30_000, 100, now::get);
        Build stuck = new Build(true);
        Future<SingleFlightCache.Entry<String>> leader = pool.submit(() -> impatient.get("realm", stuck));
        assertTrue(stuck.started.await(5, TimeUnit.SECONDS));
        Build own = new Build(false);
        assertEquals("v1", impatient.get("realm", own).value(), "built for itself after 100 ms");
        stuck.release.countDown();
        assertEquals("v1", leader.get(5, TimeUnit.SECONDS).value());
    }
}
