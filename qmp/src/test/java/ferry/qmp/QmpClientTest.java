package ferry.qmp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;

import com.fasterxml.jackson.core.type.TypeReference;
import ferry.qmp.testing.FakeQmpServer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import ferry.qapi.Command;
import ferry.qapi.QapiEvent;
import ferry.qapi.Timestamp;
import ferry.qmp.testing.FakeQmpServer.Request;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

@Timeout(20)
class QmpClientTest {
    // tiny stand-ins for generated QAPI types
    record ThingArgs(String device, int count, List<String> tags, String absent) {}

    record ThingInfo(String name, boolean running) {}

    record Echo(int thread, int seq, String payload) {}

    record BlockJobDone(String device, long offset, Timestamp timestamp) implements QapiEvent {}

    static final Command<ThingArgs, ThingInfo> QUERY_THING =
            new Command<>("query-thing", ThingArgs.class, ThingInfo.class, false, true, List.of());
    static final Command<Void, List<ThingInfo>> LIST_THINGS = new Command<>("list-things", Void.class,
            new TypeReference<List<ThingInfo>>() {}.getType(), false, true, List.of());
    static final Command<Void, Void> STOP = new Command<>("stop", Void.class, Void.class, false, true, List.of());
    static final Command<Void, Void> MIGRATE_PAUSE =
            new Command<>("migrate-pause", Void.class, Void.class, true, true, List.of());
    static final Command<Echo, Echo> ECHO = new Command<>("echo", Echo.class, Echo.class, false, true, List.of());

    static final QmpOptions OPTIONS = QmpOptions.defaults()
            .withConnectTimeout(Duration.ofSeconds(5))
            .withCallTimeout(Duration.ofSeconds(5));

    FakeQmpServer server;
    final List<QmpClient> clients = new ArrayList<>();

    @BeforeEach
    void start() throws Exception {
        server = new FakeQmpServer();
    }

    @AfterEach
    void stop() throws Exception {
        clients.forEach(QmpClient::close);
        server.close();
    }

    QmpClient connect(QmpOptions options) {
        QmpClient c = QmpClient.connect(server.socketPath(), options);
        clients.add(c);
        return c;
    }

    QmpClient connect() {
        return connect(OPTIONS);
    }

    static ObjectNode json(String s) {
        return FakeQmpServer.parse(s);
    }

    static void awaitTrue(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                fail("timed out waiting until " + what);
            }
            Thread.sleep(5);
        }
    }

    static Throwable failureOf(CompletableFuture<?> f) throws InterruptedException {
        try {
            f.get(5, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            return e.getCause();
        } catch (java.util.concurrent.TimeoutException e) {
            fail("the call neither completed nor failed within 5 s");
        }
        return fail("the call succeeded, but it should have failed");
    }

    // ---- greeting and negotiation ------------------------------------------------------------

    @Test
    void greetingIsParsedAndCapabilitiesAreNegotiatedFirst() throws Exception {
        server.greeting(8, 2, 1, "oob");
        QmpClient c = connect();

        QmpGreeting g = c.greeting();
        assertThat(g.major()).isEqualTo(8);
        assertThat(g.minor()).isEqualTo(2);
        assertThat(g.micro()).isEqualTo(1);
        assertThat(g.version()).isEqualTo("8.2.1");
        assertThat(g.packageName()).isEqualTo("v8.2.1-fake");
        assertThat(g.capabilities()).containsExactly("oob");
        assertThat(c.oobEnabled()).isTrue();
        assertThat(c.isOpen()).isTrue();

        c.call(STOP);
        List<ObjectNode> sent = server.requests();
        assertThat(sent).hasSize(2);
        assertThat(sent.get(0).path("execute").asText()).isEqualTo("qmp_capabilities");
        assertThat(sent.get(0).get("arguments")).isEqualTo(json("{\"enable\":[\"oob\"]}"));
        assertThat(sent.get(0).hasNonNull("id")).isTrue();
        assertThat(sent.get(1).path("execute").asText()).isEqualTo("stop");
    }

    @ParameterizedTest(name = "offered={0} enabled={1}")
    @CsvSource({"true,true,true", "true,false,false", "false,true,false", "false,false,false"})
    void oobIsRequestedExactlyWhenOfferedAndEnabled(boolean offered, boolean enabled, boolean expected) {
        if (offered) {
            server.greeting(9, 1, 0, "oob");
        } else {
            server.greeting(9, 1, 0);
        }
        QmpClient c = connect(OPTIONS.withOob(enabled));

        assertThat(c.oobEnabled()).isEqualTo(expected);
        ObjectNode caps = server.requests().get(0);
        assertThat(caps.path("execute").asText()).isEqualTo("qmp_capabilities");
        if (expected) {
            assertThat(caps.get("arguments")).isEqualTo(json("{\"enable\":[\"oob\"]}"));
        } else {
            assertThat(caps.has("arguments")).as("arguments of %s", caps).isFalse();
        }
    }

    // ---- ids and routing ---------------------------------------------------------------------

    @Test
    void repliesAreRoutedByIdWhenAnsweredInReverseOrder() throws Exception {
        List<Request> held = new ArrayList<>();
        server.handler((req, s) -> {
            held.add(req);
            if (held.size() == 3) {
                for (Request r : held.reversed()) {
                    s.reply(r, json("{\"n\":" + r.arguments().path("n").asInt() + "}"));
                }
            }
        });
        QmpClient c = connect();

        List<CompletableFuture<JsonNode>> calls = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            calls.add(c.executeAsync("numbered", json("{\"n\":" + i + "}"), false, Duration.ofSeconds(5)));
        }
        for (int i = 0; i < 3; i++) {
            assertThat(calls.get(i).get(5, TimeUnit.SECONDS)).isEqualTo(json("{\"n\":" + i + "}"));
        }

        List<String> ids = server.requests().stream().map(r -> r.path("id").asText()).toList();
        assertThat(ids).hasSize(4).doesNotContain("").doesNotHaveDuplicates();
        assertThat(c.unmatchedReplies()).isZero();
    }

    // ---- out-of-band -------------------------------------------------------------------------

    @Test
    void callOobSendsExecOob() {
        QmpClient c = connect();
        assertThat(c.oobEnabled()).isTrue();

        assertThat(c.callOob(MIGRATE_PAUSE, null, Duration.ofSeconds(5))).isNull();

        ObjectNode sent = server.requests().getLast();
        assertThat(sent.path("exec-oob").asText()).isEqualTo("migrate-pause");
        assertThat(sent.has("execute")).isFalse();
        assertThat(sent.hasNonNull("id")).isTrue();
    }

    @Test
    void callOobIsRefusedForACommandWithoutAllowOob() {
        QmpClient c = connect();
        int before = server.received.size();

        assertThatThrownBy(() -> c.callOob(STOP, null, Duration.ofSeconds(5)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'stop'")
                .hasMessageContaining("out-of-band");
        assertThat(server.received).hasSize(before);
    }

    @Test
    void callOobIsRefusedWhenOobWasNotNegotiated() {
        server.greeting(9, 2, 0);
        QmpClient c = connect();
        int before = server.received.size();

        assertThatThrownBy(() -> c.callOob(MIGRATE_PAUSE, null, Duration.ofSeconds(5)))
                .isInstanceOf(QmpException.class)
                .hasMessageContaining("not negotiated");
        assertThat(server.received).hasSize(before);
    }

    // ---- typed calls -------------------------------------------------------------------------

    @Test
    void typedCallSerialisesArgumentsAndDecodesAnObject() {
        server.handler((req, s) -> s.reply(req, json("{\"name\":\"vm1\",\"running\":true,\"unknown-field\":1}")));
        QmpClient c = connect();

        ThingInfo info = c.call(QUERY_THING, new ThingArgs("drive0", 3, List.of("a", "b"), null));

        assertThat(info).isEqualTo(new ThingInfo("vm1", true));
        ObjectNode sent = server.requests().getLast();
        assertThat(sent.path("execute").asText()).isEqualTo("query-thing");
        assertThat(sent.get("arguments")).isEqualTo(json("{\"device\":\"drive0\",\"count\":3,\"tags\":[\"a\",\"b\"]}"));
    }

    @Test
    void typedCallDecodesAnArrayThroughAGenericType() {
        server.handler((req, s) -> s.reply(req, json("{\"x\":[{\"name\":\"a\",\"running\":true},{\"name\":\"b\",\"running\":false}]}").get("x")));
        QmpClient c = connect();

        List<ThingInfo> things = c.call(LIST_THINGS);

        assertThat(things).containsExactly(new ThingInfo("a", true), new ThingInfo("b", false));
        assertThat(server.requests().getLast().has("arguments")).isFalse();
    }

    @Test
    void voidCallReturnsNullForAnEmptyObject() {
        QmpClient c = connect();

        assertThat(c.call(STOP)).isNull();
        assertThat(server.requests().getLast().path("execute").asText()).isEqualTo("stop");
        assertThat(server.requests().getLast().has("arguments")).isFalse();
    }

    @Test
    void aReplyThatDoesNotFitTheReturnTypeFailsClearly() {
        server.handler((req, s) -> s.reply(req, json("{\"x\":[1,2]}").get("x")));
        QmpClient c = connect();

        assertThatThrownBy(() -> c.call(QUERY_THING, new ThingArgs("d", 1, List.of(), null)))
                .isInstanceOf(QmpException.class)
                .hasMessageContaining("cannot read the reply to 'query-thing'");
        assertThat(c.isOpen()).isTrue();
    }

    // ---- errors ------------------------------------------------------------------------------

    @Test
    void errorReplyBecomesQmpCommandException() {
        server.handler((req, s) -> s.error(req, "DeviceNotFound", "Device 'drive9' not found"));
        QmpClient c = connect();
        ThingArgs args = new ThingArgs("drive9", 1, List.of("x"), null);

        Throwable t = catchThrowableOf(() -> c.call(QUERY_THING, args));

        assertThat(t).isInstanceOf(QmpCommandException.class);
        QmpCommandException e = (QmpCommandException) t;
        assertThat(e.errorClass()).isEqualTo("DeviceNotFound");
        assertThat(e.description()).isEqualTo("Device 'drive9' not found");
        assertThat(e.command()).isEqualTo("query-thing");
        assertThat(e.arguments()).isEqualTo(json("{\"device\":\"drive9\",\"count\":1,\"tags\":[\"x\"]}"));
        assertThat(e).hasMessageContaining("query-thing").hasMessageContaining("DeviceNotFound")
                .hasMessageContaining("Device 'drive9' not found");
        assertThat(c.isOpen()).isTrue();
    }

    static Throwable catchThrowableOf(Runnable r) {
        try {
            r.run();
        } catch (Throwable t) {
            return t;
        }
        return fail("expected an exception");
    }

    // ---- timeouts and stray replies ----------------------------------------------------------

    @Test
    void timeoutFailsInAboutTheTimeAndTheLateReplyIsCountedAndHarmless() throws Exception {
        LinkedBlockingQueue<Request> unanswered = new LinkedBlockingQueue<>();
        server.handler((req, s) -> {
            if (req.command().equals("slow")) {
                unanswered.add(req);
            } else {
                s.reply(req, json("{\"ok\":true}"));
            }
        });
        QmpClient c = connect();

        long t0 = System.nanoTime();
        CompletableFuture<JsonNode> slow = c.executeAsync("slow", null, false, Duration.ofMillis(300));
        Throwable t = failureOf(slow);
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);

        assertThat(t).isInstanceOf(QmpTimeoutException.class).hasMessageContaining("'slow'").hasMessageContaining("300 ms");
        assertThat(ms).isBetween(250L, 3000L);
        assertThat(c.unmatchedReplies()).isZero();

        server.session().reply(unanswered.take(), json("{\"late\":true}"));
        awaitTrue(() -> c.unmatchedReplies() == 1, "the late reply is counted");

        assertThat(c.execute("after", null)).isEqualTo(json("{\"ok\":true}"));
        assertThat(c.isOpen()).isTrue();
        assertThat(c.unmatchedReplies()).isEqualTo(1);
    }

    @Test
    void blockingTypedCallTimesOutWithQmpTimeoutException() {
        server.handler((req, s) -> {});
        QmpClient c = connect();

        long t0 = System.nanoTime();
        assertThatThrownBy(() -> c.call(QUERY_THING, new ThingArgs("d", 1, List.of(), null), Duration.ofMillis(200)))
                .isInstanceOf(QmpTimeoutException.class);
        assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0)).isBetween(150L, 3000L);
    }

    @Test
    void repliesWithUnknownIdOrNoIdAreIgnoredAndCounted() {
        server.handler((req, s) -> {
            s.sendLine("{\"return\":{\"bogus\":1},\"id\":\"not-a-call-of-ours\"}");
            s.sendLine("{\"return\":{\"bogus\":2}}");
            s.sendLine("{\"error\":{\"class\":\"GenericError\",\"desc\":\"stray\"}}");
            s.sendLine("{\"something\":\"unknown\"}");
            s.reply(req, json("{\"real\":true}"));
        });
        QmpClient c = connect();

        assertThat(c.execute("query-status", null)).isEqualTo(json("{\"real\":true}"));
        assertThat(c.unmatchedReplies()).isEqualTo(3);
        assertThat(c.isOpen()).isTrue();
        assertThat(c.execute("query-status", null)).isEqualTo(json("{\"real\":true}"));
        assertThat(c.unmatchedReplies()).isEqualTo(6);
    }

    // ---- protocol violations and hang-ups ----------------------------------------------------

    static Stream<Arguments> garbage() {
        return Stream.of(
                Arguments.of("text", "this is not json\n".getBytes(StandardCharsets.UTF_8), "something that is not JSON"),
                Arguments.of("truncated", "{\"return\": {\n".getBytes(StandardCharsets.UTF_8), "something that is not JSON"),
                Arguments.of("binary", new byte[] {0, 0, 0, '{', (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, '\n'},
                        "something that is not JSON"),
                Arguments.of("array", "[{\"return\":{}}]\n".getBytes(StandardCharsets.UTF_8), "JSON that is not an object"),
                Arguments.of("string", "\"hello\"\n".getBytes(StandardCharsets.UTF_8), "JSON that is not an object"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("garbage")
    void aLineThatIsNotAJsonObjectClosesTheConnectionAndFailsEveryPendingCall(String name, byte[] bytes,
                                                                            String expected) throws Exception {
        server.handler((req, s) -> {
            if (req.command().equals("break")) {
                s.sendRaw(bytes);
            }
        });
        QmpClient c = connect();

        List<CompletableFuture<JsonNode>> calls = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            calls.add(c.executeAsync("hang", null, false, Duration.ofSeconds(10)));
        }
        calls.add(c.executeAsync("break", null, false, Duration.ofSeconds(10)));

        for (CompletableFuture<JsonNode> call : calls) {
            assertThat(failureOf(call)).isInstanceOf(QmpConnectionException.class)
                    .hasMessageContaining(expected)
                    .hasMessageContaining("connection was closed");
        }
        assertThat(c.isOpen()).isFalse();
        assertThat(server.session().awaitClosedByClient(Duration.ofSeconds(5))).isTrue();

        int before = server.received.size();
        long t0 = System.nanoTime();
        assertThatThrownBy(() -> c.execute("query-status", null))
                .isInstanceOf(QmpConnectionException.class).hasMessageContaining(expected)
                .satisfies(e -> assertThat(((QmpConnectionException) e).sent()).as("never written").isFalse());
        assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0)).isLessThan(1000);
        assertThat(server.received).hasSize(before);
    }

    @Test
    void anOverLongLineClosesTheConnectionWithAClearMessage() throws Exception {
        server.handler((req, s) -> s.sendLine("{\"return\":\"" + "x".repeat(5000) + "\",\"id\":" + req.id() + "}"));
        QmpClient c = connect(OPTIONS.withMaxLineBytes(1024));

        assertThatThrownBy(() -> c.execute("query-big", null))
                .isInstanceOf(QmpConnectionException.class)
                .hasMessageContaining("longer than 1024 bytes")
                .hasMessageContaining("connection was closed");
        assertThat(c.isOpen()).isFalse();
        assertThatThrownBy(() -> c.execute("query-status", null)).isInstanceOf(QmpConnectionException.class);
    }

    @Test
    void peerDisconnectFailsAllPendingCallsPromptly() throws Exception {
        int[] seen = {0};
        server.handler((req, s) -> {
            if (++seen[0] == 5) {
                s.disconnect();
            }
        });
        QmpClient c = connect(OPTIONS.withCallTimeout(Duration.ofSeconds(30)));

        long t0 = System.nanoTime();
        List<CompletableFuture<JsonNode>> calls = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            calls.add(c.executeAsync("hang-" + i, null, false, Duration.ofSeconds(30)));
        }
        for (int i = 0; i < 5; i++) {
            assertThat(failureOf(calls.get(i)))
                    .isInstanceOf(QmpConnectionException.class)
                    .isNotInstanceOf(QmpTimeoutException.class)
                    .hasMessageContaining("closed by the peer")
                    .hasMessageContaining("'hang-" + i + "'")
                    .satisfies(e -> assertThat(((QmpConnectionException) e).sent()).as("written, no reply").isTrue());
        }
        assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0)).isLessThan(3000);
        assertThat(c.isOpen()).isFalse();
    }

    @Test
    void aPeerThatNeverGreetsFailsConnectWithinTheConnectTimeout() throws Exception {
        server.silent();
        long t0 = System.nanoTime();

        assertThatThrownBy(() -> connect(OPTIONS.withConnectTimeout(Duration.ofMillis(500))))
                .isInstanceOf(QmpConnectionException.class)
                .hasMessageContaining(server.socketPath().toString())
                .hasMessageContaining("no QMP greeting within 500 ms");
        assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0)).isBetween(400L, 3000L);
        assertThat(server.session().awaitClosedByClient(Duration.ofSeconds(5))).as("socket closed after failing").isTrue();
        assertThat(server.received).isEmpty();
    }

    @Test
    void connectingToAPathWithoutServerNamesThePath() {
        Path nowhere = server.socketPath().resolveSibling("nobody-here.sock");

        assertThatThrownBy(() -> QmpClient.connect(nowhere, OPTIONS))
                .isInstanceOf(QmpConnectionException.class)
                .hasMessageContaining(nowhere.toString());
    }

    // ---- events ------------------------------------------------------------------------------

    @Test
    void subscribersWithDifferentFiltersGetTheirOwnCopies() throws Exception {
        server.handler((req, s) -> {
            s.event("STOP", null);
            s.event("RESUME", null);
            s.reply(req, json("{}"));
            s.event("STOP", "{\"n\":2}");
        });
        QmpClient c = connect();
        EventSubscription stops = c.subscribe("STOP");
        EventSubscription resumes = c.subscribe("RESUME");
        EventSubscription all = c.subscribe();

        c.execute("cont", null);

        Duration wait = Duration.ofSeconds(5);
        assertThat(stops.poll(wait).name()).isEqualTo("STOP");
        QmpEventMessage second = stops.poll(wait);
        assertThat(second.name()).isEqualTo("STOP");
        assertThat(second.data()).isEqualTo(json("{\"n\":2}"));
        assertThat(resumes.poll(wait).name()).isEqualTo("RESUME");
        assertThat(Stream.of(all.poll(wait), all.poll(wait), all.poll(wait)).map(QmpEventMessage::name))
                .containsExactly("STOP", "RESUME", "STOP");

        long t0 = System.nanoTime();
        assertThat(stops.poll(Duration.ofMillis(200))).isNull();
        assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0)).isBetween(150L, 3000L);
        assertThat(resumes.poll(Duration.ofMillis(50))).isNull();
        assertThat(all.poll(Duration.ofMillis(50))).isNull();
    }

    @Test
    void afterDisconnectPollDrainsTheQueueThenThrows() throws Exception {
        QmpClient c = connect();
        EventSubscription sub = c.subscribe();
        FakeQmpServer.Session s = server.session();

        s.event("A", null);
        s.event("B", null);
        s.disconnect();
        awaitTrue(() -> !c.isOpen(), "the client sees the hang-up");

        assertThat(sub.poll(Duration.ofSeconds(1)).name()).isEqualTo("A");
        assertThat(sub.poll(Duration.ofSeconds(1)).name()).isEqualTo("B");
        assertThatThrownBy(() -> sub.poll(Duration.ofSeconds(1)))
                .isInstanceOf(QmpConnectionException.class).hasMessageContaining("closed by the peer");
    }

    @Test
    void aFullQueueDropsTheOldestAndCountsThem() {
        server.handler((req, s) -> {
            for (int i = 0; i < 5; i++) {
                s.event("TICK", "{\"n\":" + i + "}");
            }
            s.reply(req, json("{}"));
        });
        QmpOptions o = OPTIONS;
        QmpClient c = connect(new QmpOptions(o.connectTimeout(), o.callTimeout(), o.maxLineBytes(), o.enableOob(), 3,
                o.eventTypes()));
        EventSubscription sub = c.subscribe("TICK");

        c.execute("emit", null); // events before the reply are dispatched before it

        assertThat(sub.dropped()).isEqualTo(2);
        for (int n = 2; n < 5; n++) {
            assertThat(sub.poll(Duration.ofSeconds(1)).data().path("n").asInt()).isEqualTo(n);
        }
        assertThat(sub.poll(Duration.ofMillis(20))).isNull();
    }

    @Test
    void typedDecodesRegisteredEventsWithTheirTimestamp() throws Exception {
        QmpClient c = connect(OPTIONS.withEventTypes(Map.of("BLOCK_JOB_COMPLETED", BlockJobDone.class)));
        EventSubscription sub = c.subscribe();
        FakeQmpServer.Session s = server.session();

        s.event("BLOCK_JOB_COMPLETED", "{\"device\":\"drive0\",\"offset\":42,\"len\":42,\"type\":\"mirror\"}",
                1_712_345_678L, 654_321L);
        s.event("UNREGISTERED", "{\"x\":1}");

        QmpEventMessage m = sub.poll(Duration.ofSeconds(5));
        Timestamp ts = new Timestamp(1_712_345_678L, 654_321L);
        assertThat(m.timestamp()).isEqualTo(ts);
        assertThat(m.typed()).isEqualTo(new BlockJobDone("drive0", 42, ts));
        assertThat(m.as(BlockJobDone.class).timestamp().instant().getNano()).isEqualTo(654_321_000);

        QmpEventMessage other = sub.poll(Duration.ofSeconds(5));
        assertThat(other.name()).isEqualTo("UNREGISTERED");
        assertThat(other.typed()).isNull();
        assertThat(other.as(BlockJobDone.class)).isNull();
    }

    @Test
    void awaitReturnsTheFirstMatchingEventOrNull() throws Exception {
        QmpClient c = connect();
        EventSubscription sub = c.subscribe("JOB_STATUS_CHANGE");
        FakeQmpServer.Session s = server.session();
        for (String status : List.of("created", "running", "concluded", "null")) {
            s.event("JOB_STATUS_CHANGE", "{\"id\":\"j1\",\"status\":\"" + status + "\"}");
        }

        QmpEventMessage m = sub.await(e -> e.data().path("status").asText().equals("concluded"), Duration.ofSeconds(5));
        assertThat(m.data()).isEqualTo(json("{\"id\":\"j1\",\"status\":\"concluded\"}"));
        assertThat(sub.poll(Duration.ofSeconds(1)).data().path("status").asText()).isEqualTo("null");

        long t0 = System.nanoTime();
        assertThat(sub.await(e -> true, Duration.ofMillis(200))).isNull();
        assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0)).isBetween(150L, 3000L);
    }

    // ---- concurrency -------------------------------------------------------------------------

    @Test
    void concurrentCallsFromEightThreadsAreEachAnsweredWithTheirOwnReply() throws Exception {
        server.handler((req, s) -> s.reply(req, req.arguments()));
        QmpClient c = connect();
        int threads = 8;
        int perThread = 200;
        ConcurrentLinkedQueue<String> mismatches = new ConcurrentLinkedQueue<>();

        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int thread = t;
                done.add(pool.submit(() -> {
                    for (int i = 0; i < perThread; i++) {
                        Echo sent = new Echo(thread, i, "p" + thread + "-" + i + "-" + "z".repeat(i % 17));
                        Echo got = i % 2 == 0 ? c.call(ECHO, sent) : c.callAsync(ECHO, sent).join();
                        if (!sent.equals(got)) {
                            mismatches.add(sent + " -> " + got);
                        }
                    }
                }));
            }
            for (Future<?> f : done) {
                f.get(15, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }

        assertThat(mismatches).isEmpty();
        Set<String> ids = new HashSet<>();
        server.requests().forEach(r -> ids.add(r.path("id").asText()));
        assertThat(ids).hasSize(threads * perThread + 1);
        assertThat(c.unmatchedReplies()).isZero();
    }

    // ---- closing -----------------------------------------------------------------------------

    @Test
    void closeFailsPendingCallsEndsSubscriptionsAndClosesTheSocket() throws Exception {
        server.handler((req, s) -> {});
        QmpClient c = connect();
        EventSubscription sub = c.subscribe();
        CompletableFuture<JsonNode> pending = c.executeAsync("hang", null, false, Duration.ofSeconds(30));
        awaitTrue(() -> server.received.size() == 2, "the fake has the call");

        c.close();

        assertThat(failureOf(pending)).isInstanceOf(QmpConnectionException.class).hasMessageContaining("closed by this client");
        assertThatThrownBy(() -> sub.poll(Duration.ofSeconds(1))).isInstanceOf(QmpConnectionException.class);
        assertThat(c.isOpen()).isFalse();
        assertThat(server.session().awaitClosedByClient(Duration.ofSeconds(5))).isTrue();

        c.close(); // idempotent
        assertThat(c.isOpen()).isFalse();
        assertThatThrownBy(() -> c.execute("query-status", null)).isInstanceOf(QmpConnectionException.class);
        assertThatThrownBy(() -> c.subscribe().poll(Duration.ofSeconds(1))).isInstanceOf(QmpConnectionException.class);
        assertThat(server.received).hasSize(2);
    }

    // ---- TCP ---------------------------------------------------------------------------------

    @Test
    void tcpTransportWorksTheSame() {
        server.greeting(7, 2, 5, "oob");
        server.handler((req, s) -> s.reply(req, json("{\"status\":\"running\",\"running\":true}")));
        QmpClient c = QmpClient.connect("127.0.0.1", server.tcpPort(), OPTIONS);
        clients.add(c);

        assertThat(c.greeting().version()).isEqualTo("7.2.5");
        assertThat(c.oobEnabled()).isTrue();
        assertThat(c.peer()).contains("127.0.0.1").contains(String.valueOf(server.tcpPort()));
        assertThat(c.execute("query-status", null).path("status").asText()).isEqualTo("running");
        assertThat(server.requests().get(0).path("execute").asText()).isEqualTo("qmp_capabilities");
    }
}
