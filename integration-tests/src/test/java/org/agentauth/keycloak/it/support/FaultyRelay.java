package org.agentauth.keycloak.it.support;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Predicate;
import java.util.function.UnaryOperator;

/**
 * A loopback HTTP/1.1 relay between the server under test and a real upstream (like toxiproxy, in-process): listens
 * on a free port of 127.0.0.1 and forwards each request to {@code localhost:targetPort}, one request per connection
 * (the request goes out with {@code Connection: close} and {@code Host: localhost:targetPort}, so the upstream's
 * issuer is the same as seen directly; the answer comes back and both sockets close). A fault applies
 * to the requests whose request line matches a predicate (e.g. only {@code POST .../token}); the others pass.
 * <ul>
 * <li>{@link Mode#PASS}: forward;</li>
 * <li>{@link Mode#REFUSE}: the listening socket is closed: connections are refused (every path);</li>
 * <li>{@link Mode#RESET}: the request is read, then the connection is reset (RST);</li>
 * <li>{@link Mode#DELAY}: forwarded, but the answer is held for {@code delayMillis} (the upstream did the work);</li>
 * <li>{@link Mode#GARBAGE}: {@code 200 OK} with an HTML body instead of JSON, nothing forwarded;</li>
 * <li>{@link Mode#TRUNCATED}: {@code 200 OK} announcing 1000 bytes of JSON, 10 sent, then the connection closes;</li>
 * <li>{@link Mode#UNAVAILABLE}: {@code 503} with a JSON error body, nothing forwarded;</li>
 * <li>{@link Mode#REWRITE}: forwarded, and the upstream's answer body comes back changed by a function (set with
 * {@link #rewrite}): a real answer with one thing changed, e.g. an ID token naming another subject.</li>
 * </ul>
 */
public final class FaultyRelay implements AutoCloseable {

    public enum Mode { PASS, REFUSE, RESET, DELAY, GARBAGE, TRUNCATED, UNAVAILABLE, REWRITE }

    private final int targetPort;
    private final int port;
    private final ExecutorService pool = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "faulty-relay");
        t.setDaemon(true);
        return t;
    });
    private final List<String> seen = new CopyOnWriteArrayList<>();
    private volatile ServerSocket listener;
    private volatile Mode mode = Mode.PASS;
    private volatile long delayMillis;
    private volatile Predicate<String> applies = line -> true;
    private volatile UnaryOperator<String> rewriter = UnaryOperator.identity();
    private volatile boolean closed;

    public FaultyRelay(int targetPort) throws IOException {
        this.targetPort = targetPort;
        this.listener = listen(0);
        this.port = listener.getLocalPort();
        acceptLoop(listener);
    }

    public int port() {
        return port;
    }

    /** The request lines seen so far (also the faulted ones), e.g. {@code POST /realms/x/protocol/openid-connect/token HTTP/1.1}. */
    public List<String> seen() {
        return List.copyOf(seen);
    }

    public long count(Predicate<String> requestLine) {
        return seen.stream().filter(requestLine).count();
    }

    /** Every request passes. */
    public synchronized void pass() throws IOException {
        fault(Mode.PASS, 0, line -> true);
    }

    /** {@code mode} for the requests whose request line matches {@code applies} (REFUSE: for all). */
    public synchronized void fault(Mode mode, long delayMillis, Predicate<String> applies) throws IOException {
        this.delayMillis = delayMillis;
        this.applies = applies;
        this.mode = mode;
        if (mode == Mode.REFUSE && listener != null) {
            listener.close();
            listener = null;
        } else if (mode != Mode.REFUSE && listener == null) {
            listener = listen(port);
            acceptLoop(listener);
        }
    }

    /** The answers to the requests matching {@code applies} come back with their body passed through {@code body}. */
    public synchronized void rewrite(Predicate<String> applies, UnaryOperator<String> body) throws IOException {
        this.rewriter = body;
        fault(Mode.REWRITE, 0, applies);
    }

    /** Request lines containing all of {@code parts}, e.g. {@code onPath("POST ", "/token ")}. */
    public static Predicate<String> onPath(String... parts) {
        return line -> {
            for (String p : parts) {
                if (!line.contains(p)) {
                    return false;
                }
            }
            return true;
        };
    }

    private static ServerSocket listen(int port) throws IOException {
        ServerSocket s = new ServerSocket();
        s.setReuseAddress(true);
        s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 50);
        return s;
    }

    private void acceptLoop(ServerSocket s) {
        pool.execute(() -> {
            while (!s.isClosed()) {
                try {
                    Socket client = s.accept();
                    pool.execute(() -> handle(client));
                } catch (IOException e) {
                    return; // closed
                }
            }
        });
    }

    private void handle(Socket client) {
        try (client) {
            client.setSoTimeout(30_000);
            InputStream in = client.getInputStream();
            byte[] head = readHead(in);
            if (head == null) {
                return;
            }
            String text = new String(head, StandardCharsets.ISO_8859_1);
            String requestLine = text.substring(0, text.indexOf("\r\n"));
            byte[] body = in.readNBytes(contentLength(text));
            seen.add(requestLine);
            Mode m = applies.test(requestLine) ? mode : Mode.PASS;
            OutputStream out = client.getOutputStream();
            switch (m) {
                case RESET -> {
                    client.setSoLinger(true, 0);
                    return;
                }
                case GARBAGE -> {
                    answer(out, "200 OK", "text/html", "<html><body>Service temporarily replaced by a captive portal</body></html>", -1);
                    return;
                }
                case TRUNCATED -> {
                    answer(out, "200 OK", "application/json", "{\"access_", 1000);
                    return;
                }
                case UNAVAILABLE -> {
                    answer(out, "503 Service Unavailable", "application/json", "{\"error\":\"temporarily_unavailable\"}", -1);
                    return;
                }
                default -> {
                    // PASS, DELAY, REWRITE (REFUSE never accepts)
                }
            }
            byte[] response = forward(text, body);
            if (m == Mode.DELAY) {
                Thread.sleep(delayMillis);
            }
            if (m == Mode.REWRITE) {
                response = rewritten(response, rewriter);
            }
            out.write(response);
            out.flush();
        } catch (IOException | InterruptedException e) {
            // the client gave up (e.g. its timeout): nothing to do
        } catch (RuntimeException e) {
            System.out.println("[relay] " + e);
        }
    }

    private byte[] forward(String head, byte[] body) throws IOException {
        StringBuilder h = new StringBuilder();
        for (String line : head.split("\r\n")) {
            String lower = line.toLowerCase(Locale.ROOT);
            if (lower.startsWith("host:")) {
                // as the upstream's own name: its issuer is the same through the relay and directly (the browser's way)
                h.append("Host: localhost:").append(targetPort).append("\r\n");
            } else if (!line.isEmpty() && !lower.startsWith("connection:") && !lower.startsWith("keep-alive:")) {
                h.append(line).append("\r\n");
            }
        }
        h.append("Connection: close\r\n\r\n");
        try (Socket upstream = new Socket(InetAddress.getLoopbackAddress(), targetPort)) {
            upstream.setSoTimeout(30_000);
            OutputStream o = upstream.getOutputStream();
            o.write(h.toString().getBytes(StandardCharsets.ISO_8859_1));
            o.write(body);
            o.flush();
            return upstream.getInputStream().readAllBytes();
        }
    }

    /** The answer with its body (de-chunked) passed through {@code f} and a Content-Length that fits. */
    private static byte[] rewritten(byte[] response, UnaryOperator<String> f) {
        String all = new String(response, StandardCharsets.ISO_8859_1);
        int end = all.indexOf("\r\n\r\n");
        String head = all.substring(0, end);
        byte[] body = all.substring(end + 4).getBytes(StandardCharsets.ISO_8859_1);
        StringBuilder h = new StringBuilder();
        boolean chunked = false;
        for (String line : head.split("\r\n")) {
            String lower = line.toLowerCase(Locale.ROOT);
            if (lower.startsWith("transfer-encoding:")) {
                chunked = lower.contains("chunked");
            } else if (!lower.startsWith("content-length:")) {
                h.append(line).append("\r\n");
            }
        }
        if (chunked) {
            ByteArrayOutputStream plain = new ByteArrayOutputStream();
            int at = 0;
            while (true) {
                int eol = indexOf(body, at);
                int size = Integer.parseInt(new String(body, at, eol - at, StandardCharsets.ISO_8859_1).split(";")[0].trim(), 16);
                if (size == 0) {
                    break;
                }
                plain.write(body, eol + 2, size);
                at = eol + 2 + size + 2;
            }
            body = plain.toByteArray();
        }
        byte[] changed = f.apply(new String(body, StandardCharsets.UTF_8)).getBytes(StandardCharsets.UTF_8);
        h.append("Content-Length: ").append(changed.length).append("\r\n\r\n");
        byte[] newHead = h.toString().getBytes(StandardCharsets.ISO_8859_1);
        byte[] out = new byte[newHead.length + changed.length];
        System.arraycopy(newHead, 0, out, 0, newHead.length);
        System.arraycopy(changed, 0, out, newHead.length, changed.length);
        return out;
    }

    private static int indexOf(byte[] b, int from) {
        for (int i = from; i + 1 < b.length; i++) {
            if (b[i] == '\r' && b[i + 1] == '\n') {
                return i;
            }
        }
        throw new IllegalStateException("chunked body without an end");
    }

    private static void answer(OutputStream out, String status, String type, String body, int announcedLength) throws IOException {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        String head = "HTTP/1.1 " + status + "\r\nContent-Type: " + type + "\r\nContent-Length: "
                + (announcedLength < 0 ? b.length : announcedLength) + "\r\nConnection: close\r\n\r\n";
        out.write(head.getBytes(StandardCharsets.ISO_8859_1));
        out.write(b);
        out.flush();
    }

    /** The request head up to and including the empty line, or null when the client closed first. */
    private static byte[] readHead(InputStream in) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        int last4 = 0;
        while (last4 != 0x0d0a0d0a) {
            int c = in.read();
            if (c < 0) {
                return null;
            }
            b.write(c);
            last4 = (last4 << 8) | c;
            if (b.size() > 64 * 1024) {
                throw new IOException("request head too large");
            }
        }
        return b.toByteArray();
    }

    private static int contentLength(String head) {
        for (String line : head.split("\r\n")) {
            if (line.toLowerCase(Locale.ROOT).startsWith("content-length:")) {
                return Integer.parseInt(line.substring(line.indexOf(':') + 1).trim());
            }
            if (line.toLowerCase(Locale.ROOT).startsWith("transfer-encoding:")) {
                throw new IllegalStateException("chunked requests are not relayed: " + line);
            }
        }
        return 0;
    }

    @Override
    public void close() throws IOException {
        closed = true;
        ServerSocket s = listener;
        if (s != null) {
            s.close();
        }
        pool.shutdownNow();
    }

    @Override
    public String toString() {
        return "FaultyRelay[" + port + " -> " + targetPort + ", " + mode + (closed ? ", closed" : "") + "]";
    }
}
