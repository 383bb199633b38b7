package org.agentauth.keycloak.token;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * The chain of actors of a delegated token (RFC 8693 section 4.1): the {@code act} claim, outermost (current) actor
 * first, each older actor nested in the {@code act} of the newer one.
 */
public final class ActChain {

    /** Name of the actor claim. */
    public static final String ACT = "act";
    /** Name of the authorized-actor claim (RFC 8693 section 4.4). */
    public static final String MAY_ACT = "may_act";
    /** Parsing stops here: deeper chains are refused whatever the agents' caps say. */
    public static final int MAX_PARSE_DEPTH = 16;

    /** One actor of the chain. */
    public record Actor(String sub, String clientId, String iss) {
        /** The claim object of this actor, without nesting. */
        Map<String, Object> toClaim() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("sub", sub);
            m.put("client_id", clientId);
            if (iss != null) {
                m.put("iss", iss);
            }
            return m;
        }
    }

    private static final ActChain EMPTY = new ActChain(List.of());

    private final List<Actor> actors;

    private ActChain(List<Actor> actors) {
        this.actors = Collections.unmodifiableList(actors);
    }

    public static ActChain empty() {
        return EMPTY;
    }

    /**
     * Parses an {@code act} claim value (a JSON object as Jackson maps it). Null gives the empty chain.
     *
     * @throws IllegalArgumentException when the claim is not a well-formed chain of objects naming {@code sub}
     *         and {@code client_id}, or is deeper than {@link #MAX_PARSE_DEPTH}
     */
    public static ActChain parse(Object act) {
        List<Actor> out = new ArrayList<>();
        Object cur = act;
        while (cur != null) {
            if (!(cur instanceof Map<?, ?> m)) {
                throw new IllegalArgumentException("act claim is not an object");
            }
            if (out.size() >= MAX_PARSE_DEPTH) {
                throw new IllegalArgumentException("act claim is nested too deeply");
            }
            Object sub = m.get("sub");
            Object clientId = m.get("client_id");
            Object iss = m.get("iss");
            if (!(sub instanceof String s) || s.isBlank() || !(clientId instanceof String c) || c.isBlank()
                    || (iss != null && !(iss instanceof String))) {
                throw new IllegalArgumentException("act claim lacks sub or client_id");
            }
            out.add(new Actor(s, c, (String) iss));
            cur = m.get(ACT);
        }
        return out.isEmpty() ? EMPTY : new ActChain(out);
    }

    /** Outermost first. */
    public List<Actor> actors() {
        return actors;
    }

    public boolean isEmpty() {
        return actors.isEmpty();
    }

    /** Number of {@code act} levels. */
    public int depth() {
        return actors.size();
    }

    /** The current actor (outermost), or null. */
    public Actor current() {
        return actors.isEmpty() ? null : actors.get(0);
    }

    /** The first agent the user delegated to (innermost), or null. */
    public Actor first() {
        return actors.isEmpty() ? null : actors.get(actors.size() - 1);
    }

    /** Client ids from the first agent to the current one. */
    public List<String> clientIdsFromFirst() {
        List<String> ids = actors.stream().map(Actor::clientId).collect(Collectors.toCollection(ArrayList::new));
        Collections.reverse(ids);
        return ids;
    }

    /** True when an actor with this service-account user id or this client_id is already in the chain. */
    public boolean contains(String sub, String clientId) {
        return actors.stream().anyMatch(a -> a.sub().equals(sub) || a.clientId().equals(clientId));
    }

    /** A new chain with {@code actor} as the current actor around this one. */
    public ActChain wrap(Actor actor) {
        List<Actor> out = new ArrayList<>(actors.size() + 1);
        out.add(actor);
        out.addAll(actors);
        return new ActChain(out);
    }

    /** The {@code act} claim value: nested objects, outermost first; null for the empty chain. */
    public Map<String, Object> toClaim() {
        Map<String, Object> inner = null;
        for (int i = actors.size() - 1; i >= 0; i--) {
            Map<String, Object> m = actors.get(i).toClaim();
            if (inner != null) {
                m.put(ACT, inner);
            }
            inner = m;
        }
        return inner;
    }

    /** For events: client ids, current actor first, joined by {@code <}, e.g. {@code research-agent<calendar-agent}. */
    public String describe() {
        return actors.stream().map(Actor::clientId).collect(Collectors.joining("<"));
    }

    @Override
    public String toString() {
        return describe();
    }
}
