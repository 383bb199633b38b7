package org.agentauth.keycloak.support;

import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * One value per key (e.g. per realm) that is expensive to build, kept for at most {@code maxAgeMillis} and rebuilt
 * <em>single-flight</em>: however many requests find it missing or too old at the same moment, one of them builds it
 * and the others wait for that build and use its result. So a value is never older than the age limit (counted from
 * the start of the build that produced it), and an expired value costs one build, not one per concurrent request.
 * <p>
 * The build runs on the thread of the request that started it. A request waits for someone else's build at most
 * {@code maxWaitMillis}; if that build fails or takes longer, the request builds for itself (without keeping the
 * result), so another request's failure or a stuck build never fails or blocks it for longer. A build that fails for
 * the request that started it fails that request.
 * <p>
 * {@link #invalidate} forgets a key at once: requests after it never get a value whose build began before it, and a
 * build that was running is not kept. Pure logic (the clock is injected), unit tested.
 */
public final class SingleFlightCache<K, V> {

    /** A value and when the build that produced it began. */
    public record Entry<V>(long builtAt, V value) {
    }

    /** Per key: the current entry and the build in flight, changed only under the slot's lock. */
    private static final class Slot<V> {
        Entry<V> current;
        CompletableFuture<Entry<V>> building;
    }

    private final Map<K, Slot<V>> slots = new ConcurrentHashMap<>();
    private final long maxAgeMillis;
    private final long maxWaitMillis;
    private final LongSupplier clock;

    public SingleFlightCache(long maxAgeMillis, long maxWaitMillis, LongSupplier clock) {
        this.maxAgeMillis = maxAgeMillis;
        this.maxWaitMillis = maxWaitMillis;
        this.clock = clock;
    }

    /** The key's value, built (once, whoever asks meanwhile) when missing or older than the age limit. */
    public Entry<V> get(K key, Supplier<V> build) {
        return obtain(key, null, build);
    }

    /**
     * A value newer than {@code seen} (which the caller found out of date): rebuilt once, unless another request
     * already did, or is doing so now.
     */
    public Entry<V> refresh(K key, Entry<V> seen, Supplier<V> build) {
        return obtain(key, seen, build);
    }

    /** Forgets the key: the next request builds anew, and a build running now is not kept. */
    public void invalidate(K key) {
        Slot<V> slot = slots.remove(key);
        if (slot != null) {
            synchronized (slot) {
                slot.current = null;
                slot.building = null;
            }
        }
    }

    private Entry<V> obtain(K key, Entry<V> outdated, Supplier<V> build) {
        Slot<V> slot = slots.computeIfAbsent(key, k -> new Slot<>());
        CompletableFuture<Entry<V>> future;
        boolean leader = false;
        synchronized (slot) {
            Entry<V> e = slot.current;
            if (e != null && e != outdated && clock.getAsLong() - e.builtAt() <= maxAgeMillis) {
                return e;
            }
            if (slot.building == null) {
                slot.building = new CompletableFuture<>();
                leader = true;
            }
            future = slot.building;
        }
        return leader ? lead(slot, future, build) : follow(future, build);
    }

    private Entry<V> lead(Slot<V> slot, CompletableFuture<Entry<V>> future, Supplier<V> build) {
        Entry<V> built;
        try {
            built = new Entry<>(clock.getAsLong(), build.get());
        } catch (RuntimeException | Error e) {
            synchronized (slot) {
                if (slot.building == future) {
                    slot.building = null;
                }
            }
            future.completeExceptionally(e);
            throw e;
        }
        synchronized (slot) {
            // an invalidation meanwhile emptied the slot (and took it out of the map): then the value is not kept
            if (slot.building == future) {
                slot.building = null;
                slot.current = built;
            }
        }
        future.complete(built);
        return built;
    }

    private Entry<V> follow(CompletableFuture<Entry<V>> future, Supplier<V> build) {
        try {
            return future.get(maxWaitMillis, TimeUnit.MILLISECONDS);
        } catch (ExecutionException | TimeoutException e) {
            // someone else's build failed or hangs: this request builds for itself
            return new Entry<>(clock.getAsLong(), build.get());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Entry<>(clock.getAsLong(), build.get());
        }
    }
}
