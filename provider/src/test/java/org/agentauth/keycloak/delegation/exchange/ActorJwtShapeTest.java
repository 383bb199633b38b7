package org.agentauth.keycloak.delegation.exchange;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The pure parts of the actor JWT contract (the rest is in ActorJwtIT). */
class ActorJwtShapeTest {

    @Test
    void anActorJwtIsExplicitlyTyped() {
        assertTrue(ActorTokenVerifier.isActorJwtType("actor+jwt"));
        assertTrue(ActorTokenVerifier.isActorJwtType("Actor+JWT"));
        assertTrue(ActorTokenVerifier.isActorJwtType("application/actor+jwt"));
        for (String t : new String[] {null, "", "JWT", "jwt", "at+jwt", "dpop+jwt", "actor", "actor+jwt ", "application/jwt", "x-actor+jwt"}) {
            assertFalse(ActorTokenVerifier.isActorJwtType(t), String.valueOf(t));
        }
    }

    @Test
    void itsAudienceIsNoneThatKeycloakAcceptsForClientAssertions() {
        String issuer = "http://localhost:8080/realms/r";
        assertEquals(issuer + "/agent-auth/actor", ActorTokenVerifier.audience(issuer));
    }

    @Test
    void itsJtiIsRecordedUnderTheKeyOfKeycloaksClientAssertionCheck() {
        // AbstractBaseJWTValidator.validateTokenReuse: getClass().getSimpleName().toLowerCase() + ":" + jti
        assertEquals("jwtclientvalidator:", ActorTokenVerifier.JTI_PREFIX);
    }
}
