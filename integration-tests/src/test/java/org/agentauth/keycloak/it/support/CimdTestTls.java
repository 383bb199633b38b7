package org.agentauth.keycloak.it.support;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.util.ArrayList;
import java.util.List;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;

/**
 * A test CA and a server certificate it signs for {@code localhost} / {@code 127.0.0.1}, made with the JDK's
 * {@code keytool} once per build directory, for the HTTPS client metadata document server of {@code CimdIT}. Keycloak
 * trusts the CA through {@code --truststore-paths} ({@link #serverArgs}); a hosts file (the machine's own plus names
 * that resolve to loopback, private, link-local and IPv4-embedding addresses) is the server JVM's resolver
 * ({@code -Djdk.net.hosts.file}), so that names resolving to such addresses can be tried without DNS.
 */
public final class CimdTestTls {

    public static final String PASSWORD = "changeit";

    /** Test names and the addresses they resolve to on the server (its hosts file). */
    public static final List<String[]> NAMES = List.of(
            new String[] {"127.0.0.1", "cimd-loopback.test"},
            new String[] {"10.20.30.40", "cimd-private.test"},
            new String[] {"169.254.169.254", "cimd-linklocal.test"},
            new String[] {"::ffff:127.0.0.1", "cimd-mapped.test"},
            new String[] {"64:ff9b::7f00:1", "cimd-nat64.test"},
            new String[] {"2002:7f00:1::", "cimd-6to4.test"},
            new String[] {"fd00::1", "cimd-ula.test"});

    private CimdTestTls() {
    }

    public static Path dir() {
        return Path.of(System.getProperty("agentauth.targetDir", "target")).toAbsolutePath().resolve("cimd-tls");
    }

    /** Makes the CA, the server key store and the hosts file unless they exist; returns the directory. */
    public static synchronized Path prepare() {
        Path d = dir();
        try {
            if (Files.exists(d.resolve("server.p12")) && Files.exists(d.resolve("hosts"))) {
                return d;
            }
            Files.createDirectories(d);
            for (String f : List.of("ca.p12", "ca.pem", "server.p12", "leaf.csr", "leaf.pem", "hosts")) {
                Files.deleteIfExists(d.resolve(f));
            }
            keytool(d, "-genkeypair", "-alias", "ca", "-keyalg", "EC", "-groupname", "secp256r1", "-dname", "CN=agent-auth CIMD test CA",
                    "-ext", "bc:c", "-validity", "30", "-keystore", "ca.p12", "-storetype", "PKCS12", "-storepass", PASSWORD);
            keytool(d, "-exportcert", "-rfc", "-alias", "ca", "-keystore", "ca.p12", "-storepass", PASSWORD, "-file", "ca.pem");
            keytool(d, "-genkeypair", "-alias", "leaf", "-keyalg", "EC", "-groupname", "secp256r1", "-dname", "CN=localhost",
                    "-validity", "30", "-keystore", "server.p12", "-storetype", "PKCS12", "-storepass", PASSWORD);
            keytool(d, "-certreq", "-alias", "leaf", "-keystore", "server.p12", "-storepass", PASSWORD, "-file", "leaf.csr");
            keytool(d, "-gencert", "-alias", "ca", "-keystore", "ca.p12", "-storepass", PASSWORD, "-infile", "leaf.csr", "-outfile", "leaf.pem",
                    "-rfc", "-validity", "30", "-ext", "SAN=dns:localhost,ip:127.0.0.1", "-ext", "EKU=serverAuth");
            keytool(d, "-importcert", "-noprompt", "-alias", "ca", "-file", "ca.pem", "-keystore", "server.p12", "-storepass", PASSWORD);
            keytool(d, "-importcert", "-noprompt", "-alias", "leaf", "-file", "leaf.pem", "-keystore", "server.p12", "-storepass", PASSWORD);
            StringBuilder hosts = new StringBuilder();
            Path etc = Path.of("/etc/hosts");
            hosts.append(Files.exists(etc) ? Files.readString(etc) : "127.0.0.1 localhost\n").append('\n');
            for (String[] n : NAMES) {
                hosts.append(n[0]).append(' ').append(n[1]).append('\n');
            }
            Files.writeString(d.resolve("hosts"), hosts.toString(), StandardCharsets.UTF_8);
            return d;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The server options: trust the test CA; fetch documents from localhost; no practical rate bound in tests. */
    public static List<String> serverArgs() {
        Path d = prepare();
        List<String> args = new ArrayList<>();
        args.add("--truststore-paths=" + d.resolve("ca.pem"));
        args.add("--spi-agent-auth-cimd--default--allowed-hosts=localhost");
        args.add("--spi-agent-auth-cimd--default--fetches-per-minute=100000");
        return args;
    }

    /** The server JVM option that makes the hosts file its resolver. */
    public static String hostsFileOption() {
        return "-Djdk.net.hosts.file=" + prepare().resolve("hosts");
    }

    /** The TLS context of the document server (the CA-signed leaf for localhost). */
    public static SSLContext serverContext() {
        try (InputStream in = Files.newInputStream(prepare().resolve("server.p12"))) {
            KeyStore ks = KeyStore.getInstance("PKCS12");
            ks.load(in, PASSWORD.toCharArray());
            KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(ks, PASSWORD.toCharArray());
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(kmf.getKeyManagers(), null, null);
            return ctx;
        } catch (Exception e) {
            throw new IllegalStateException("test TLS context: " + e, e);
        }
    }

    private static void keytool(Path dir, String... args) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "keytool").toString());
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        try {
            if (p.waitFor() != 0) {
                throw new IOException("keytool " + String.join(" ", args) + " failed: " + out);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        }
    }
}
