package org.agentauth.keycloak.resource;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.agentauth.keycloak.support.Strings;
import org.keycloak.events.EventBuilder;
import org.keycloak.models.KeycloakSession;

/**
 * The RFC 8707 protocol parts (DESIGN section 9): the {@code resource} parameter, the refresh-token claim that records
 * the authorized resources, and the grant's event. Which clients are resource servers is
 * {@link org.agentauth.keycloak.agent.ResourceServers}.
 */
public final class ResourceIndicators {

    public static final String PARAM = "resource";
    /** Refresh-token claim: the resources the grant was authorized for (list of normalized URIs). */
    public static final String REFRESH_CLAIM = "agent_auth_resources";
    /** Session attribute: the running grant's event builder, so the post-processor can add details. */
    static final String EVENT_ATTRIBUTE = "agent_auth.resource.event";

    private ResourceIndicators() {
    }

    /** The {@code resource} values of a token request's form, without empty ones. */
    public static List<String> requested(jakarta.ws.rs.core.MultivaluedMap<String, String> form) {
        List<String> values = form == null ? null : form.get(PARAM);
        return values == null ? List.of() : values.stream().filter(v -> v != null && !v.isEmpty()).toList();
    }

    /** Lets {@link ResourceIndicatorsPostProcessor} name the resources on the grant's own event. */
    public static void stashEvent(KeycloakSession session, EventBuilder event) {
        if (session != null && event != null) {
            session.setAttribute(EVENT_ATTRIBUTE, event);
        }
    }

    /** Space-joined list (URIs contain no spaces). */
    public static String join(Collection<String> uris) {
        return String.join(" ", uris);
    }

    public static List<String> splitList(String joined) {
        Set<String> out = new LinkedHashSet<>();
        if (joined != null) {
            for (String s : joined.split(" ")) {
                if (!s.isBlank()) {
                    out.add(s);
                }
            }
        }
        return List.copyOf(out);
    }

    /** A claim value (list or single string) as a list of strings. */
    public static List<String> strings(Object o) {
        List<String> out = new ArrayList<>();
        if (o instanceof Collection<?> c) {
            c.forEach(x -> {
                if (x instanceof String s && !s.isBlank()) {
                    out.add(s);
                }
            });
        } else if (o instanceof String s && !s.isBlank()) {
            out.add(s);
        }
        return out;
    }

    static String safe(String v) {
        return Strings.safe(v, 200);
    }
}
