package ferry.agent;

import static org.assertj.core.api.Assertions.assertThat;

import ferry.cluster.pki.AccessTokens;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The web UI in a real headless Chromium (Debian's chromium and chromium-driver, driven by
 * Selenium): a browser without the cluster's certificate sees a login and no data; logged in with
 * the password of {@code ferry cluster ui}, it starts a live migration of a real VM from the
 * dialog (after the plan) — after a first one it cancels from the migration's page —, watches
 * its chart gain points and its bar reach 100 % without going back, and finds the VM on the
 * target and the migration in the VM's history. A second test evacuates a node from the cluster
 * page. The screenshots stay in target/ui-migration.png, target/ui-cluster.png and
 * target/ui-evacuate-dialog.png, target/ui-evacuation.png (~25 s and ~10 s, a third of the first
 * the guest filling its memory).
 * Both run on one two-node cluster, started once for the class (a few seconds each time saved):
 * each has a VM of its own and a browser of its own, and the evacuation of a leaves a resumed, so
 * either passes whether the other ran before it or not.
 * Skipped, with the reason, where Chromium or its driver is not installed.
 */
@Timeout(180)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class AgentUiTest {
    static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    static final Path DRIVER = Path.of("/usr/bin/chromedriver");
    static final Path SCREENSHOT = Path.of("target", "ui-migration.png");
    static final Path CLUSTER_SCREENSHOT = Path.of("target", "ui-cluster.png");
    static final Path EVACUATION_SCREENSHOT = Path.of("target", "ui-evacuation.png");
    static final Path EVACUATE_DIALOG_SCREENSHOT = Path.of("target", "ui-evacuate-dialog.png");

    LocalCluster c;

    @BeforeAll
    void startCluster(@TempDir Path dir) throws java.io.IOException {
        assumeChromium();
        c = new LocalCluster(dir.resolve("c"), "a", "b");
    }

    @AfterAll
    void stopCluster() {
        if (c != null) {
            c.close();
        }
    }

    @Test
    void aLiveMigrationFromTheDialogWatchedToTheEnd() throws Exception {
        AgentClient a = c.defineOnA(100, "calm", AgentMetricsTest.CALM);
        a.post("/api/v1/vms/100/start", null);
        String ui = "https://" + c.address("a") + "/ui/";
        WebDriver browser = chromium();
        try {
            // no certificate, no login: the login form, and the API answers 401 to the page's own fetch
            browser.get(ui);
            WebDriverWait wait = waitFor(browser, 30);
            wait.until(b -> b.findElement(By.id("login")).isDisplayed());
            assertThat(browser.findElement(By.id("view")).getText()).isEmpty();
            Object status = ((JavascriptExecutor) browser).executeAsyncScript(
                    "const done = arguments[0]; fetch('/api/v1/vms').then(r => done(r.status))");
            assertThat(status).as("the API without a session").isEqualTo(401L);
            assertThat(browser.getPageSource()).doesNotContain("calm");

            browser.findElement(By.id("password")).sendKeys("not the password");
            browser.findElement(By.cssSelector("#login-form button")).click();
            wait.until(b -> !b.findElement(By.id("login-error")).getText().isEmpty());
            assertThat(browser.findElement(By.id("login-error")).getText()).contains("wrong password");

            browser.findElement(By.id("password")).clear();
            browser.findElement(By.id("password")).sendKeys(AccessTokens.in(c.layout.dir()).uiPassword().orElseThrow());
            browser.findElement(By.cssSelector("#login-form button")).click();
            wait.until(b -> !b.findElements(By.cssSelector("[data-migrate='100']")).isEmpty());
            assertThat(read(wait, By.cssSelector("[data-owner='100']"), WebElement::getText)).isEqualTo("a");

            // its 16 MiB written once: at 4 MiB/s pre-copy lasts 4 s or more, so the chart gets points
            ferry.testkit.BootblockGuest.awaitPasses(c.layout.runRoot("a").resolve("100").resolve("serial.log"), 1,
                    Duration.ofSeconds(60));
            // first one that cannot converge (1 MiB/s under a ~2 MB/s dirty rate), cancelled from its page
            click(wait, By.cssSelector("[data-migrate='100']"));
            wait.until(b -> b.findElement(By.id("migrate-dialog")).isDisplayed());
            browser.findElement(By.id("m-bwlimit")).sendKeys("1");
            browser.findElement(By.id("m-start")).click();
            wait.until(b -> b.getCurrentUrl().contains("#/task/"));
            waitFor(browser, 60).until(b ->
                    Integer.parseInt(b.findElement(By.id("chart")).getAttribute("data-points")) >= 1);
            double before = Double.parseDouble(browser.findElement(By.id("percent")).getText().replace(" %", ""));
            browser.findElement(By.id("cancel")).click();
            browser.switchTo().alert().accept();
            waitFor(browser, 60).until(b ->
                    b.findElement(By.id("status")).getText().equals("cancelled"));
            assertThat(Double.parseDouble(browser.findElement(By.id("percent")).getText().replace(" %", "")))
                    .as("the bar of a cancelled migration stays where it got").isGreaterThanOrEqualTo(before)
                    .isLessThan(100);
            assertThat(a.get("/api/v1/vms/100").path("status").asText()).as("still on a").isEqualTo("running");

            browser.get(ui + "#/");
            wait.until(b -> !b.findElements(By.cssSelector("[data-migrate='100']")).isEmpty());
            click(wait, By.cssSelector("[data-migrate='100']"));
            wait.until(b -> b.findElement(By.id("migrate-dialog")).isDisplayed());
            browser.findElement(By.id("m-bwlimit")).clear();
            browser.findElement(By.id("m-bwlimit")).sendKeys("4");
            // on a quiet host the guest dirties ~5 MiB/s, more than the link: postcopy lets it finish whatever
            // the host's speed (as AgentMetricsTest), after a pre-copy long enough for the chart
            browser.findElement(By.id("m-allow-postcopy")).click();
            browser.findElement(By.id("m-plan")).click();
            WebElement plan = waitFor(browser, 60).until(b -> {
                WebElement row = b.findElement(By.cssSelector("[data-plan='b']"));
                return row.getText().contains("planning") ? null : row;
            });
            System.out.println("plan in the dialog: " + plan.getText());
            assertThat(plan.getText()).contains("recommended").doesNotContain("refused");
            browser.findElement(By.id("m-start")).click();

            wait.until(b -> b.getCurrentUrl().contains("#/task/"));
            List<Double> percents = new ArrayList<>();
            List<Integer> points = new ArrayList<>();
            long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
            while (System.nanoTime() < deadline) {
                percents.add(Double.parseDouble(browser.findElement(By.id("percent")).getText().replace(" %", "")));
                points.add(Integer.parseInt(browser.findElement(By.id("chart")).getAttribute("data-points")));
                if (!browser.findElement(By.id("status")).getText().equals("running")) {
                    break;
                }
                Thread.sleep(200);
            }
            // once more after the end: the loop may have read the bar just before the page took the end in
            percents.add(Double.parseDouble(browser.findElement(By.id("percent")).getText().replace(" %", "")));
            System.out.println("UI: bar " + percents + "\nUI: chart points " + points);
            assertThat(browser.findElement(By.id("status")).getText()).isEqualTo("completed");
            assertThat(percents).as("the bar never goes back").isSortedAccordingTo(Double::compare);
            assertThat(percents.get(percents.size() - 1)).isEqualTo(100.0);
            assertThat(points.get(points.size() - 1)).as("samples on the chart").isGreaterThanOrEqualTo(2);
            assertThat(points.stream().distinct().count()).as("the chart gained points while it ran")
                    .isGreaterThanOrEqualTo(2);
            wait.until(b -> b.findElement(By.id("log")).getText().contains("migration finished successfully"));
            screenshot(browser, SCREENSHOT);
            // the page opened again after the end: the stream replays the whole history (read now, once the
            // log has the end: the loop's last look may come before the last sample was drawn)
            int drawn = Integer.parseInt(browser.findElement(By.id("chart")).getAttribute("data-points"));
            System.out.println("UI: chart points at the end " + drawn);
            browser.navigate().refresh();
            wait.until(b -> b.findElement(By.id("status")).getText().equals("completed")
                    && b.findElement(By.id("chart")).getAttribute("data-points").equals(String.valueOf(drawn)));
            assertThat(browser.findElement(By.id("percent")).getText()).isEqualTo("100.0 %");

            browser.get(ui + "#/");
            wait.until(b -> b.findElement(By.cssSelector("[data-owner='100']")).getText().equals("b"));
            screenshot(browser, CLUSTER_SCREENSHOT);
            // the VM's page: its history on this node, with the migration's outcome, duration and downtime
            click(wait, By.cssSelector("[data-vm='100']"));
            // read as text in one go: the page redraws itself every few seconds
            String history = wait.until(b -> {
                String text = b.findElement(By.id("view")).getText();
                return text.contains("Migrations orchestrated") && text.contains("a → b") ? text : null;
            });
            String row = history.lines().filter(l -> l.contains("a → b")).findFirst().orElseThrow();
            System.out.println("UI: history row " + row);
            assertThat(row).contains("completed").containsPattern("\\d+(\\.\\d)? (ms|s) \\d+ ms$");

            // logged out, the same browser sees the login again and the API refuses it
            browser.findElement(By.id("logout")).click();
            wait.until(b -> b.findElement(By.id("login")).isDisplayed());
            Object after = ((JavascriptExecutor) browser).executeAsyncScript(
                    "const done = arguments[0]; fetch('/api/v1/vms').then(r => done(r.status))");
            assertThat(after).isEqualTo(401L);
        } finally {
            browser.quit();
        }
    }

    /**
     * Node a evacuated from its row of the cluster page: the dialog says what will happen, one
     * click starts it, its page ends with the summary (the VM on b), and Resume ends a's
     * maintenance (~20 s).
     */
    @Test
    void aNodeEvacuatedFromTheClusterPageWithAConfirmation() throws Exception {
        AgentClient a = c.defineOnA(101, "evacuee", AgentMetricsTest.CALM);
        a.post("/api/v1/vms/101/start", null);
        String ui = "https://" + c.address("a") + "/ui/";
        WebDriver browser = chromium();
        try {
            WebDriverWait wait = waitFor(browser, 30);
            browser.get(ui);
            wait.until(b -> b.findElement(By.id("login")).isDisplayed());
            browser.findElement(By.id("password")).sendKeys(AccessTokens.in(c.layout.dir()).uiPassword().orElseThrow());
            browser.findElement(By.cssSelector("#login-form button")).click();
            wait.until(b -> !b.findElements(By.cssSelector("[data-evacuate='a']")).isEmpty());
            assertThat(browser.findElements(By.cssSelector("[data-evacuate='b']"))).as("b's own page evacuates b")
                    .isEmpty();
            click(wait, By.cssSelector("[data-evacuate='a']"));
            wait.until(b -> b.findElement(By.id("evacuate-dialog")).isDisplayed());
            String said = browser.findElement(By.id("evacuate-dialog")).getText();
            System.out.println("UI: evacuate dialog\n" + said);
            assertThat(said).contains("maintenance").contains("VM 101 evacuee: migrated live")
                    .contains("at most 2 at a time from a, 5 in the whole cluster");
            screenshot(browser, EVACUATE_DIALOG_SCREENSHOT);
            try (var s = c.layout.open()) {
                assertThat(s.currentConfig().node("a").orElseThrow().maintenance()).as("before the click").isFalse();
            }
            browser.findElement(By.id("e-start")).click();
            wait.until(b -> b.getCurrentUrl().contains("#/task/evacuate-a-"));
            waitFor(browser, 90).until(b ->
                    !b.findElement(By.id("evac-status")).getText().equals("running"));
            assertThat(read(wait, By.id("evac-status"), WebElement::getText)).isEqualTo("completed");
            wait.until(b -> !b.findElements(By.cssSelector("[data-evac-target='101']")).isEmpty());
            assertThat(read(wait, By.cssSelector("[data-evac-target='101']"), WebElement::getText)).isEqualTo("b");
            assertThat(read(wait, By.cssSelector("[data-evac-target='101']"), e -> e.getAttribute("title")))
                    .as("why b: its plan").startsWith("plan (budget, budget:");
            assertThat(read(wait, By.cssSelector("[data-evac-outcome='101']"), WebElement::getText))
                    .isEqualTo("completed");
            assertThat(read(wait, By.id("evac-log"), WebElement::getText)).contains("VM 101 -> b: completed");
            String summary = browser.findElement(By.id("view")).getText();
            System.out.println("UI: evacuation page\n" + summary);
            assertThat(summary).containsPattern("101 evacuee b completed \\d+ ms \\d+\\.\\d s");
            screenshot(browser, EVACUATION_SCREENSHOT);
            assertThat(c.client("b").get("/api/v1/vms/101").path("status").asText()).isEqualTo("running");
            assertThat(a.get("/api/v1/vms/101").path("owner").asText()).isEqualTo("b");

            browser.get(ui + "#/");
            wait.until(b -> !b.findElements(By.cssSelector("[data-resume='a']")).isEmpty());
            click(wait, By.cssSelector("[data-resume='a']"));
            browser.switchTo().alert().accept();
            wait.until(b -> b.findElements(By.cssSelector("[data-resume='a']")).isEmpty());
            try (var s = c.layout.open()) {
                assertThat(s.currentConfig().node("a").orElseThrow().maintenance()).isFalse();
            }
        } finally {
            browser.quit();
        }
    }

    static void assumeChromium() {
        Assumptions.assumeTrue(Files.isExecutable(CHROMIUM) && Files.isExecutable(DRIVER),
                "Chromium is not installed (" + CHROMIUM + ", " + DRIVER + "): apt-get install chromium chromium-driver "
                        + "(scripts/install-deps does)");
    }

    private static void screenshot(WebDriver browser, Path file) throws java.io.IOException {
        Files.createDirectories(file.getParent());
        Files.copy(((TakesScreenshot) browser).getScreenshotAs(OutputType.FILE).toPath(), file,
                StandardCopyOption.REPLACE_EXISTING);
        System.out.println("UI: screenshot " + file.toAbsolutePath());
    }

    /**
     * Headless Chromium that accepts the agent's certificate without the cluster's CA installed
     * (a person imports pki/ca-cert.pem once; a throwaway browser profile has no place for it).
     */
    static WebDriver chromium() {
        ChromeOptions o = new ChromeOptions();
        o.setBinary(CHROMIUM.toFile());
        o.addArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1100");
        o.setAcceptInsecureCerts(true);
        ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(new File(DRIVER.toString()))
                .build();
        return new ChromeDriver(service, o);
    }

    /** Clicks what the selector finds, finding it again if the page redrew it between the find and the click. */
    private static void click(WebDriverWait wait, By by) {
        wait.until(b -> {
            b.findElement(by).click();
            return true;
        });
    }

    /** One reading of an element on a page that redraws itself (cluster, VM and evacuation pages). */
    private static String read(WebDriverWait wait, By by, java.util.function.Function<WebElement, String> what) {
        return wait.until(b -> what.apply(b.findElement(by)));
    }

    /** A wait that looks again when the page re-rendered an element it had found (the views redraw as tasks move). */
    private static WebDriverWait waitFor(org.openqa.selenium.WebDriver browser, int seconds) {
        WebDriverWait w = new WebDriverWait(browser, Duration.ofSeconds(seconds));
        w.ignoring(org.openqa.selenium.StaleElementReferenceException.class);
        return w;
    }
}
