package org.agentauth.keycloak.audit;

import org.agentauth.keycloak.support.ProtocolError;
import org.keycloak.events.Details;
import org.keycloak.events.Errors;
import org.keycloak.events.EventBuilder;

/**
 * How the extension records outcomes on Keycloak events (DESIGN section 7): the success or the {@code _ERROR} variant
 * of the operation's {@code EventType}, a reason, Keycloak's own {@link Errors} values, and the extension's detail keys
 * ({@link AgentAuthEvents}). Never a token: callers pass identifiers and descriptions only.
 */
public final class Audit {

    private Audit() {
    }

    /** Records a refusal: {@code reason} = the error's description, the event's error = its {@link Errors} value. */
    public static void refused(EventBuilder event, ProtocolError e) {
        if (event != null) {
            event.detail(Details.REASON, e.description()).error(e.eventError());
        }
    }

    /** Records a refusal with a reason and one of Keycloak's {@link Errors} values. */
    public static void refused(EventBuilder event, String reason, String keycloakError) {
        if (event != null) {
            event.detail(Details.REASON, reason).error(keycloakError);
        }
    }

    /** Names the acting agent and its chain (current agent first, e.g. {@code research-agent<calendar-agent}). */
    public static EventBuilder agent(EventBuilder event, String agentClientId, String actChain) {
        if (event != null) {
            event.detail(AgentAuthEvents.AGENT, agentClientId);
            if (actChain != null) {
                event.detail(AgentAuthEvents.ACT_CHAIN, actChain);
            }
        }
        return event;
    }
}
