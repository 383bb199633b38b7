package org.agentauth.keycloak.it.bench;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.IntFunction;

/**
 * A closed-loop load driver: a fixed number of workers, each sending its next request as soon as the previous one is
 * answered, for a fixed time slot. Every latency is kept (a few hundred thousand longs at most), so percentiles are
 * exact, read from the sorted array; no histogram approximation.
 */
final class LoadDriver implements AutoCloseable {

    /** One request (or one fixed sequence of requests counted as one operation); returns normally only on success. */
    interface Call {
        void run() throws Exception;
    }

    /** Thrown by a call whose answer was not the expected 2xx (or 302 for an authorization request). */
    static final class Unexpected extends Exception {
        Unexpected(String message) {
            super(message, null, false, false);
        }
    }

    /** What was measured for one operation, summed over its slots. */
    static final class Stats {
        final String name;
        private long[] latenciesNs = new long[1 << 14];
        private int n;
        long errors;
        long nanos;
        final List<String> errorSamples = new ArrayList<>();

        Stats(String name) {
            this.name = name;
        }

        synchronized void add(long[] lat, int count, long errs, List<String> samples) {
            if (n + count > latenciesNs.length) {
                latenciesNs = Arrays.copyOf(latenciesNs, Math.max(latenciesNs.length * 2, n + count));
            }
            System.arraycopy(lat, 0, latenciesNs, n, count);
            n += count;
            errors += errs;
            for (String s : samples) {
                if (errorSamples.size() < 5) {
                    errorSamples.add(s);
                }
            }
        }

        /** Adds another's calls, errors and time (two measurements of the same operation taken as one). */
        synchronized void addAll(Stats other) {
            add(Arrays.copyOf(other.latenciesNs, other.n), other.n, other.errors, other.errorSamples);
            nanos += other.nanos;
        }

        long requests() {
            return n + errors;
        }

        double throughput() {
            return nanos == 0 ? 0 : requests() / (nanos / 1e9);
        }

        /** Exact percentile (nearest rank) of the successful calls, in ms. */
        double percentileMs(double p) {
            if (n == 0) {
                return Double.NaN;
            }
            long[] sorted = Arrays.copyOf(latenciesNs, n);
            Arrays.sort(sorted);
            int rank = (int) Math.ceil(p / 100.0 * n);
            return sorted[Math.max(0, Math.min(n - 1, rank - 1))] / 1e6;
        }
    }

    private final int concurrency;
    private final ExecutorService pool;

    LoadDriver(int concurrency) {
        this.concurrency = concurrency;
        this.pool = Executors.newFixedThreadPool(concurrency, r -> {
            Thread t = new Thread(r, "bench-worker");
            t.setDaemon(true);
            return t;
        });
    }

    /**
     * Runs one slot: {@code concurrency} workers, worker {@code i} calling {@code callOf.apply(i)} in a loop until
     * {@code seconds} have passed; results are added to {@code stats} (null: a warm-up, results only checked for errors).
     *
     * @return the number of failed calls in this slot
     */
    long slot(IntFunction<Call> callOf, double seconds, Stats stats, Stats warmupErrors) throws Exception {
        long start = System.nanoTime();
        long deadline = start + (long) (seconds * 1e9);
        List<Future<long[]>> futures = new ArrayList<>();
        Stats target = stats != null ? stats : warmupErrors;
        for (int w = 0; w < concurrency; w++) {
            Call call = callOf.apply(w);
            futures.add(pool.submit(() -> {
                long[] lat = new long[4096];
                int count = 0;
                long errs = 0;
                List<String> samples = new ArrayList<>();
                while (System.nanoTime() < deadline) {
                    long t0 = System.nanoTime();
                    try {
                        call.run();
                        long d = System.nanoTime() - t0;
                        if (count == lat.length) {
                            lat = Arrays.copyOf(lat, lat.length * 2);
                        }
                        lat[count++] = d;
                    } catch (Exception e) {
                        errs++;
                        if (samples.size() < 3) {
                            samples.add(e.getClass().getSimpleName() + ": " + e.getMessage());
                        }
                    }
                }
                target.add(stats != null ? lat : new long[0], stats != null ? count : 0, errs, samples);
                return new long[] {errs};
            }));
        }
        long errors = 0;
        for (Future<long[]> f : futures) {
            errors += f.get()[0];
        }
        if (stats != null) {
            synchronized (stats) {
                stats.nanos += System.nanoTime() - start;
            }
        }
        return errors;
    }

    @Override
    public void close() {
        pool.shutdownNow();
    }
}
