package org.agentauth.keycloak.vault;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * The upstream tokens of one connection, in memory only: stored encrypted ({@link UpstreamConnectionProvider}), never
 * logged ({@link #toString()} names no token), never returned by our APIs.
 *
 * @param accessExpiresAt epoch milliseconds, or null when the upstream did not say
 * @param refreshExpiresAt epoch milliseconds, or null
 */
@JsonIgnoreProperties(ignoreUnknown = true)
@JsonInclude(JsonInclude.Include.NON_NULL)
public record TokenSet(@JsonProperty("a") String accessToken, @JsonProperty("r") String refreshToken,
        @JsonProperty("t") String tokenType, @JsonProperty("ae") Long accessExpiresAt,
        @JsonProperty("re") Long refreshExpiresAt) {

    public boolean hasRefreshToken() {
        return refreshToken != null && !refreshToken.isEmpty();
    }

    @Override
    public String toString() {
        return "TokenSet[accessExpiresAt=" + accessExpiresAt + ", refresh=" + hasRefreshToken() + "]";
    }
}
