package org.agentauth.keycloak.cimd;

import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * At most {@code perMinute} fetches per key (realm and host) in any minute, as a token bucket refilled continuously;
 * the table forgets keys that have been idle for a minute once it grows large. Per server node. Pure logic (the clock is
 * passed in).
 */
public final class CimdRateBound {

    private static final int MAX_KEYS = 10_000;

    private final int perMinute;
    private final Map<String, Bucket> buckets = new ConcurrentHashMap<>();

    private static final class Bucket {
        double tokens;
        long at;

        Bucket(double tokens, long at) {
            this.tokens = tokens;
            this.at = at;
        }
    }

    public CimdRateBound(int perMinute) {
        this.perMinute = perMinute;
    }

    public int perMinute() {
        return perMinute;
    }

    /** Takes one fetch for {@code key} at {@code nowMillis}; false when the key has used its fetches. */
    public boolean tryAcquire(String key, long nowMillis) {
        if (buckets.size() > MAX_KEYS) {
            forgetIdle(nowMillis);
        }
        Bucket b = buckets.computeIfAbsent(key, k -> new Bucket(perMinute, nowMillis));
        synchronized (b) {
            long elapsed = Math.max(0, nowMillis - b.at);
            b.tokens = Math.min(perMinute, b.tokens + elapsed * perMinute / 60_000.0);
            b.at = nowMillis;
            if (b.tokens >= 1) {
                b.tokens -= 1;
                return true;
            }
            return false;
        }
    }

    private void forgetIdle(long nowMillis) {
        for (Iterator<Map.Entry<String, Bucket>> it = buckets.entrySet().iterator(); it.hasNext();) {
            if (nowMillis - it.next().getValue().at > 60_000) {
                it.remove();
            }
        }
    }
}
