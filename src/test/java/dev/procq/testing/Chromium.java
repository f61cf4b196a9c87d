package dev.procq.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.logging.Level;
import java.util.stream.Stream;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.logging.LogEntry;
import org.openqa.selenium.logging.LogType;
import org.openqa.selenium.logging.LoggingPreferences;

/**
 * Debian's headless Chromium driven through Debian's ChromeDriver. Both paths are given explicitly,
 * so Selenium Manager is never consulted and nothing is downloaded. Without them the browser tests
 * are skipped through an assumption naming what is missing, so a machine without a browser still
 * builds green; CI installs both.
 *
 * <pre>{@code
 * @BeforeAll static void start() { if (Chromium.unavailable().isEmpty()) browser = Chromium.start(); }
 * @BeforeEach void needsBrowser() { assumeTrue(browser != null, Chromium.unavailable().orElse("")); }
 * }</pre>
 */
public final class Chromium implements AutoCloseable {
    /** Debian's paths; -Dprocq.chromedriver=... and -Dprocq.chromium=... point elsewhere. */
    public static final Path DRIVER = Path.of(System.getProperty("procq.chromedriver", "/usr/bin/chromedriver"));
    public static final Path BINARY = Path.of(System.getProperty("procq.chromium", "/usr/bin/chromium"));
    public static final Path SCREENSHOTS = Path.of("target", "screenshots");

    private final ChromeDriverService service;
    private final ChromeDriver driver;
    private final Path profile;
    private final List<LogEntry> console = new ArrayList<>();
    private int policyChecked;

    private Chromium(ChromeDriverService service, ChromeDriver driver, Path profile) {
        this.service = service;
        this.driver = driver;
        this.profile = profile;
    }

    /** Why this machine cannot run the browser tests, or empty when it can. */
    public static Optional<String> unavailable() {
        for (Path needed : List.of(DRIVER, BINARY)) {
            if (!Files.isExecutable(needed)) {
                return Optional.of(needed + " is missing, so the browser tests are skipped: install Debian's "
                        + "packages with 'apt-get install chromium chromium-driver' (.ci/run does this)");
            }
        }
        return Optional.empty();
    }

    /** Starts a fresh browser with an empty profile; the caller checked {@link #unavailable()} first. */
    public static Chromium start() throws IOException {
        unavailable().ifPresent(reason -> {
            throw new IllegalStateException(reason);
        });
        // Belt and braces: with the driver given in the property and in the service, Selenium's
        // DriverFinder skips Selenium Manager, which is what would otherwise download a driver and browser.
        System.setProperty(ChromeDriverService.CHROME_DRIVER_EXE_PROPERTY, DRIVER.toString());

        Path profile = Files.createTempDirectory("procq-chromium-");
        ChromeOptions options = new ChromeOptions();
        options.setBinary(BINARY.toFile());
        options.addArguments(
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--no-default-browser-check", "--disable-extensions",
                "--password-store=basic", "--lang=en-US", "--window-size=1280,1000",
                "--user-data-dir=" + profile);
        LoggingPreferences logging = new LoggingPreferences();
        logging.enable(LogType.BROWSER, Level.ALL);
        options.setCapability("goog:loggingPrefs", logging);

        Files.createDirectories(SCREENSHOTS);
        ChromeDriverService service = new ChromeDriverService.Builder()
                .usingDriverExecutable(DRIVER.toFile())
                .usingAnyFreePort()
                .withLogFile(Path.of("target", "chromedriver.log").toFile())
                .build();
        try {
            return new Chromium(service, new ChromeDriver(service, options), profile);
        } catch (RuntimeException e) {
            service.stop();
            deleteTree(profile);
            throw e;
        }
    }

    public ChromeDriver driver() {
        return driver;
    }

    /** Saves what the browser shows as target/screenshots/NAME.png and returns the file. */
    public Path screenshot(String name) {
        try {
            Path file = SCREENSHOTS.resolve(name + ".png");
            Files.write(file, driver.getScreenshotAs(OutputType.BYTES));
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Every console message the pages logged so far (errors, CSP reports, warnings). */
    public List<LogEntry> console() {
        console.addAll(driver.manage().logs().get(LogType.BROWSER).getAll());
        return List.copyOf(console);
    }

    /** Console reports of the Content-Security-Policy blocking something, logged since the last call. */
    public List<String> newPolicyViolations() {
        List<LogEntry> all = console();
        List<String> violations = all.subList(policyChecked, all.size()).stream().map(LogEntry::getMessage)
                .filter(message -> message.contains("Content Security Policy"))
                .toList();
        policyChecked = all.size();
        return violations;
    }

    @Override
    public void close() {
        try {
            driver.quit();
        } finally {
            service.stop();
            deleteTree(profile);
        }
    }

    private static void deleteTree(Path root) {
        try (Stream<Path> paths = Files.walk(root)) {
            paths.sorted(Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
        } catch (IOException ignored) {
            // a temporary profile left behind is harmless
        }
    }
}
