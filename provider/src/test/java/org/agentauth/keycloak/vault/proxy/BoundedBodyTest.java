package org.agentauth.keycloak.vault.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.OutputStream;
import org.junit.jupiter.api.Test;

/** The proxy's streamed request body stops at its limit (a chunked body has no Content-Length to refuse it early). */
class BoundedBodyTest {

    @Test
    void aBodyWithinTheLimitPassesWhole() throws IOException {
        ProxyResource.Bounded b = new ProxyResource.Bounded(new ByteArrayInputStream(new byte[1000]), 1000);
        assertEquals(1000, b.transferTo(OutputStream.nullOutputStream()));
        assertFalse(b.exceeded());
    }

    @Test
    void aLargerBodyIsCutAndSaysSo() {
        ProxyResource.Bounded b = new ProxyResource.Bounded(new ByteArrayInputStream(new byte[1001]), 1000);
        IOException e = assertThrows(IOException.class, () -> b.transferTo(OutputStream.nullOutputStream()));
        assertTrue(e.getMessage().contains("1000"), e.getMessage());
        assertTrue(b.exceeded());
        ProxyResource.Bounded single = new ProxyResource.Bounded(new ByteArrayInputStream(new byte[3]), 2);
        assertThrows(IOException.class, () -> {
            while (single.read() >= 0) {
                // byte by byte
            }
        });
        assertTrue(single.exceeded());
    }
}
