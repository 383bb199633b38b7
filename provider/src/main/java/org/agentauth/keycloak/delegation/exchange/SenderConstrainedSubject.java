package org.agentauth.keycloak.delegation.exchange;

import org.agentauth.keycloak.support.ProtocolError;
import org.keycloak.OAuthErrorException;
import org.keycloak.common.Profile;
import org.keycloak.common.VerificationException;
import org.keycloak.events.Errors;
import org.keycloak.models.ClientModel;
import org.keycloak.models.KeycloakSession;
import org.keycloak.representations.AccessToken;
import org.keycloak.representations.dpop.DPoP;
import org.keycloak.services.util.DPoPUtil;
import org.keycloak.services.util.MtlsHoKTokenUtil;

/**
 * A sender-constrained subject token (RFC 7800 {@code cnf}) needs its proof in the delegated exchange exactly as in
 * Keycloak's standard token exchange (DESIGN section 3 rule 10): the requesting client must be the token's
 * {@code azp}; {@code cnf.x5t#S256} (RFC 8705) needs the matching client certificate; {@code cnf.jkt} (RFC 9449)
 * needs a DPoP proof of that key on the exchange request.
 *
 * <p>Copied from Keycloak 26.7.3 {@code StandardTokenExchangeProvider.tokenExchange()} (same checks, order, error
 * codes and descriptions; the same event errors, plus {@code not_allowed} for the certificate refusal, where Keycloak
 * records none), with Keycloak's own {@link MtlsHoKTokenUtil} and {@link DPoPUtil} doing the work: our provider
 * verifies the subject token itself, so it cannot inherit that code. The DPoP proof itself was
 * validated by Keycloak's token endpoint ({@code DPoPUtil.handleDPoPHeader}) and left in the session.
 */
final class SenderConstrainedSubject {

    /** Keycloak's description when a sender-constrained subject token is exchanged by a client other than its azp. */
    static final String NOT_ISSUED_FOR_REQUESTER =
            "Sender-constrained token exchange rejected as the token was not issued for the requesting client";
    /** Keycloak's description when a DPoP-bound subject token comes without a DPoP proof. */
    static final String DPOP_PROOF_MISSING = "DPoP proof is missing";

    private SenderConstrainedSubject() {
    }

    /** Refuses the exchange unless {@code subject} is unconstrained or its proof came with this request. */
    static void check(KeycloakSession session, ClientModel requester, AccessToken subject) {
        AccessToken.Confirmation cnf = subject.getConfirmation();
        if (cnf == null) {
            return;
        }
        if (!requester.getClientId().equals(subject.getIssuedFor())) {
            throw new ProtocolError(OAuthErrorException.INVALID_REQUEST, NOT_ISSUED_FOR_REQUESTER, Errors.INVALID_REQUEST);
        }
        if (cnf.getCertThumbprint() != null
                && !MtlsHoKTokenUtil.verifyTokenBindingWithClientCertificate(subject, session.getContext().getHttpRequest(), session)) {
            throw new ProtocolError(OAuthErrorException.INVALID_REQUEST, MtlsHoKTokenUtil.CERT_VERIFY_ERROR_DESC, Errors.NOT_ALLOWED);
        }
        if (Profile.isFeatureEnabled(Profile.Feature.DPOP) && cnf.getKeyThumbprint() != null) {
            DPoP proof = session.getAttribute(DPoPUtil.DPOP_SESSION_ATTRIBUTE, DPoP.class);
            if (proof == null) {
                throw new ProtocolError(OAuthErrorException.INVALID_REQUEST, DPOP_PROOF_MISSING, Errors.INVALID_DPOP_PROOF);
            }
            try {
                DPoPUtil.validateBinding(subject, proof);
            } catch (VerificationException e) {
                throw new ProtocolError(OAuthErrorException.INVALID_REQUEST, e.getMessage(), Errors.INVALID_DPOP_PROOF);
            }
        }
    }
}
