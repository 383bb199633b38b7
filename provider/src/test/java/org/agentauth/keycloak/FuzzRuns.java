package org.agentauth.keycloak;

/**
 * Executions of each fuzz test in fuzzing mode ({@code JAZZER_FUZZ=1}, profile {@code fuzz}); the default build runs
 * the committed inputs only (regression mode).
 */
public final class FuzzRuns {

    public static final long LONG = 1_000_000;

    private FuzzRuns() {
    }
}
