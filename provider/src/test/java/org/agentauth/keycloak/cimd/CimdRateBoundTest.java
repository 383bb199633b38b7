package org.agentauth.keycloak.cimd;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class CimdRateBoundTest {

    @Test
    void boundPerKeyRefilledOverAMinute() {
        CimdRateBound r = new CimdRateBound(3);
        long t = 1_000_000;
        assertTrue(r.tryAcquire("realm a.example", t));
        assertTrue(r.tryAcquire("realm a.example", t));
        assertTrue(r.tryAcquire("realm a.example", t));
        assertFalse(r.tryAcquire("realm a.example", t + 1000));
        assertTrue(r.tryAcquire("realm b.example", t + 1000), "another host has its own bound");
        assertTrue(r.tryAcquire("other a.example", t + 1000), "another realm has its own bound");
        assertTrue(r.tryAcquire("realm a.example", t + 20_001), "one fetch back after a third of a minute");
        assertFalse(r.tryAcquire("realm a.example", t + 20_002));
    }
}
