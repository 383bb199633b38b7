package org.agentauth.keycloak.it.support;

import com.microsoft.playwright.BrowserContext;
import com.microsoft.playwright.BrowserType;
import com.microsoft.playwright.Page;
import com.microsoft.playwright.Playwright;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Headless Debian Chromium ({@code /usr/bin/chromium}, {@code apt-get install chromium}) driven by Playwright for Java
 * over the DevTools protocol: no chromedriver, and no browser is ever downloaded (Playwright's own driver comes in its
 * Maven JAR; {@code PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1}). One instance = one fresh browser with a fresh profile.
 */
public final class Browser implements AutoCloseable {

    public static final String CHROMIUM = System.getProperty("agentauth.chromium", "/usr/bin/chromium");

    /** Playwright's actions and waits give up after this (ms); page loads after {@link #NAVIGATION_TIMEOUT_MS}. */
    public static final double TIMEOUT_MS = 30_000;
    static final double NAVIGATION_TIMEOUT_MS = 60_000;
    private static final int WIDTH = 1280;
    private static final int HEIGHT = 1000;
    private static final int MAX_SCREENSHOT_HEIGHT = 3000;
    /** {@code --headless} itself is added by Playwright ({@code setHeadless(true)}). */
    private static final List<String> FLAGS = List.of("--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-quic",
            "--no-first-run");

    /** One Playwright driver per test JVM (starting it unpacks its Node.js driver once); browsers are per instance. */
    private static Playwright playwright;

    private final com.microsoft.playwright.Browser chromium;
    private final BrowserContext context;
    private final Page page;
    private final Path screenshots;
    private final List<String> console = new ArrayList<>();

    public Browser() {
        this("en-US");
    }

    /** A browser whose preferred language is {@code lang} (e.g. {@code de}): navigator.language and Accept-Language. */
    public Browser(String lang) {
        if (!Files.isExecutable(Path.of(CHROMIUM))) {
            throw new IllegalStateException("Browser tests need Debian's Chromium at " + CHROMIUM
                    + " (no chromedriver needed): apt-get install chromium");
        }
        try {
            screenshots = Files.createDirectories(Path.of(System.getProperty("agentauth.targetDir", "target"), "screenshots"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        chromium = playwright().chromium().launch(new BrowserType.LaunchOptions()
                .setExecutablePath(Path.of(CHROMIUM))
                .setHeadless(true)
                .setArgs(FLAGS));
        try {
            context = chromium.newContext(new com.microsoft.playwright.Browser.NewContextOptions()
                    .setLocale(lang)
                    .setViewportSize(WIDTH, HEIGHT));
            context.setDefaultTimeout(TIMEOUT_MS);
            context.setDefaultNavigationTimeout(NAVIGATION_TIMEOUT_MS);
            page = context.newPage();
            // console messages, including the browser's own (e.g. Content-Security-Policy violations), with their source
            page.onConsoleMessage(m -> console.add(m.type() + " " + m.location() + " " + m.text()));
            page.onPageError(e -> console.add("pageerror " + e));
        } catch (RuntimeException e) {
            chromium.close();
            throw e;
        }
    }

    private static synchronized Playwright playwright() {
        if (playwright == null) {
            playwright = Playwright.create(new Playwright.CreateOptions()
                    .setEnv(Map.of("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")));
            Playwright started = playwright;
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                try {
                    started.close();
                } catch (RuntimeException ignored) {
                    // the JVM is going away; the driver process ends with it
                }
            }, "playwright-close"));
        }
        return playwright;
    }

    public Page page() {
        return page;
    }

    /** Saves a PNG of the whole page (up to 3000 px high) as {@code target/screenshots/<name>.png}. */
    public Path screenshot(String name) {
        Path file = screenshots.resolve(name + ".png");
        int height = ((Number) page.evaluate(
                "() => Math.max(document.documentElement.scrollHeight, document.body ? document.body.scrollHeight : 0)")).intValue();
        page.screenshot(new Page.ScreenshotOptions().setPath(file).setFullPage(true)
                .setClip(0, 0, WIDTH, Math.min(MAX_SCREENSHOT_HEIGHT, Math.max(HEIGHT, height))));
        return file;
    }

    /**
     * The browser console's messages so far (each read once), e.g. to catch Content-Security-Policy violations; each
     * line is the level, the source URL with line and column, and the text. Uncaught script errors are included as
     * {@code pageerror} lines with their stack.
     */
    public List<String> consoleMessages() {
        List<String> read = List.copyOf(console);
        console.clear();
        return read;
    }

    @Override
    public void close() {
        try {
            context.close();
        } finally {
            chromium.close();
        }
    }
}
