package org.agentauth.keycloak.support;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Properties;

/** Build information of this extension, filtered in by Maven at build time. */
public final class AgentAuthVersion {

    private static final Properties PROPS = load();

    private AgentAuthVersion() {
    }

    /** The extension's own version, e.g. {@code 0.1.0-SNAPSHOT}. */
    public static String version() {
        return PROPS.getProperty("version", "unknown");
    }

    /** The Keycloak version the JAR was compiled against. */
    public static String builtAgainstKeycloak() {
        return PROPS.getProperty("keycloak.version", "unknown");
    }

    private static Properties load() {
        Properties p = new Properties();
        try (InputStream in = AgentAuthVersion.class.getResourceAsStream("/org/agentauth/keycloak/version.properties")) {
            if (in != null) {
                p.load(in);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return p;
    }
}
