package org.agentauth.keycloak.delegation.exchange;

import org.agentauth.keycloak.support.ProtocolError;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.lang.reflect.Proxy;
import org.junit.jupiter.api.Test;
import org.keycloak.models.ClientModel;
import org.keycloak.representations.AccessToken;

/** The parts of the sender-constraint check that need no server (the proofs are in SenderConstrainedExchangeIT). */
class SenderConstrainedSubjectTest {

    @Test
    void anUnboundSubjectTokenNeedsNoProofAndABoundOneOnlyItsOwnClient() {
        ClientModel agent = client("calendar-agent");
        AccessToken unbound = new AccessToken();
        unbound.issuedFor("agent-host");
        assertDoesNotThrow(() -> SenderConstrainedSubject.check(null, agent, unbound));

        AccessToken bound = new AccessToken();
        bound.issuedFor("agent-host");
        AccessToken.Confirmation cnf = new AccessToken.Confirmation();
        cnf.setKeyThumbprint("abc");
        bound.setConfirmation(cnf);
        ProtocolError e = assertThrows(ProtocolError.class, () -> SenderConstrainedSubject.check(null, agent, bound));
        assertEquals("invalid_request", e.error());
        assertEquals(SenderConstrainedSubject.NOT_ISSUED_FOR_REQUESTER, e.description());
        bound.issuedFor(null);
        assertThrows(ProtocolError.class, () -> SenderConstrainedSubject.check(null, agent, bound));
    }

    private static ClientModel client(String clientId) {
        return (ClientModel) Proxy.newProxyInstance(ClientModel.class.getClassLoader(), new Class<?>[] {ClientModel.class},
                (proxy, method, args) -> {
                    if (method.getName().equals("getClientId")) {
                        return clientId;
                    }
                    throw new UnsupportedOperationException(method.getName());
                });
    }
}
