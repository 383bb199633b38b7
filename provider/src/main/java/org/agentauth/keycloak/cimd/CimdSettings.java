package org.agentauth.keycloak.cimd;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import org.jboss.logging.Logger;
import org.keycloak.models.RealmModel;

/**
 * A realm's CIMD settings (DESIGN section 11), kept as one realm attribute ({@value #ATTRIBUTE}, JSON) so that realm
 * export and import carry them. Off by default. {@code scopes} null means the default ceiling: the realm's default and
 * optional client scopes.
 *
 * @param allowedHosts hosts whose documents may be fetched (exact or {@code *.suffix}); empty = any host
 * @param deniedHosts hosts never fetched, checked first
 * @param maxClients at most this many CIMD clients in the realm
 * @param cacheSeconds how long a fetched document is used before it is fetched again (less when its Cache-Control says so)
 * @param scopes the client scopes a CIMD client may ask for, or null for the default ceiling
 */
@JsonInclude(JsonInclude.Include.ALWAYS)
public record CimdSettings(@JsonProperty("enabled") boolean enabled, @JsonProperty("allowedHosts") List<String> allowedHosts,
        @JsonProperty("deniedHosts") List<String> deniedHosts, @JsonProperty("maxClients") int maxClients,
        @JsonProperty("cacheSeconds") int cacheSeconds, @JsonProperty("scopes") List<String> scopes) {

    public static final String ATTRIBUTE = "agent-auth.cimd";
    public static final int DEFAULT_MAX_CLIENTS = 100;
    public static final int MAX_MAX_CLIENTS = 100_000;
    public static final int DEFAULT_CACHE_SECONDS = 3600;
    public static final int MAX_CACHE_SECONDS = 7 * 24 * 3600;
    public static final int MAX_HOSTS = 200;

    public static final CimdSettings DEFAULT = new CimdSettings(false, List.of(), List.of(), DEFAULT_MAX_CLIENTS, DEFAULT_CACHE_SECONDS, null);

    private static final Logger LOG = Logger.getLogger(CimdSettings.class);
    private static final ObjectMapper JSON = JsonMapper.builder().disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES).build();

    public CimdSettings {
        allowedHosts = allowedHosts == null ? List.of() : List.copyOf(allowedHosts);
        deniedHosts = deniedHosts == null ? List.of() : List.copyOf(deniedHosts);
        scopes = scopes == null ? null : List.copyOf(scopes);
    }

    /** The realm's settings; {@link #DEFAULT} where none are stored or the stored value is unreadable (logged). */
    public static CimdSettings of(RealmModel realm) {
        String json = realm.getAttribute(ATTRIBUTE);
        if (json == null || json.isBlank()) {
            return DEFAULT;
        }
        try {
            CimdSettings s = JSON.readValue(json, CimdSettings.class);
            return s.problems().isEmpty() ? s.normalized() : off(realm, String.join("; ", s.problems()));
        } catch (IOException | RuntimeException e) {
            return off(realm, "unreadable");
        }
    }

    private static CimdSettings off(RealmModel realm, String why) {
        LOG.warnf("Realm %s: CIMD settings (attribute %s) are invalid (%s); CIMD is off there", realm.getName(), ATTRIBUTE, why);
        return DEFAULT;
    }

    /** Stores these (validated, normalized) settings on the realm. */
    public void store(RealmModel realm) {
        try {
            realm.setAttribute(ATTRIBUTE, JSON.writeValueAsString(this));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** What is wrong with these settings (realm-independent checks); empty when nothing is. */
    public List<String> problems() {
        List<String> p = new ArrayList<>();
        if (maxClients < 0 || maxClients > MAX_MAX_CLIENTS) {
            p.add("maxClients must be between 0 and " + MAX_MAX_CLIENTS);
        }
        if (cacheSeconds < 0 || cacheSeconds > MAX_CACHE_SECONDS) {
            p.add("cacheSeconds must be between 0 and " + MAX_CACHE_SECONDS);
        }
        hostProblems("allowedHosts", allowedHosts, p);
        hostProblems("deniedHosts", deniedHosts, p);
        if (scopes != null) {
            for (String s : scopes) {
                if (s == null || s.isBlank() || s.length() > 255) {
                    p.add("scopes: every entry must be a client scope name");
                    break;
                }
            }
        }
        return p;
    }

    private static void hostProblems(String field, List<String> hosts, List<String> p) {
        if (hosts.size() > MAX_HOSTS) {
            p.add(field + ": at most " + MAX_HOSTS + " hosts");
            return;
        }
        for (String h : hosts) {
            try {
                CimdHosts.normalize(h);
            } catch (IllegalArgumentException e) {
                p.add(field + ": " + e.getMessage());
            }
        }
    }

    /** The same settings with host patterns in their normal form and duplicates removed (call after {@link #problems}). */
    public CimdSettings normalized() {
        return new CimdSettings(enabled, normalize(allowedHosts), normalize(deniedHosts), maxClients, cacheSeconds,
                scopes == null ? null : List.copyOf(new LinkedHashSet<>(scopes)));
    }

    private static List<String> normalize(List<String> hosts) {
        LinkedHashSet<String> out = new LinkedHashSet<>();
        hosts.forEach(h -> out.add(CimdHosts.normalize(h)));
        return List.copyOf(out);
    }

    /** Whether a document on {@code host} (lower case ASCII) may be fetched: not denied, and allowed where a list exists. */
    public boolean hostPermitted(String host) {
        if (deniedHosts.stream().anyMatch(p -> CimdHosts.matches(p, host))) {
            return false;
        }
        return allowedHosts.isEmpty() || allowedHosts.stream().anyMatch(p -> CimdHosts.matches(p, host));
    }
}
