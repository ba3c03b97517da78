package ferry.qapi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.lang.reflect.RecordComponent;
import java.lang.reflect.Type;
import java.math.BigInteger;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The golden schema's generated code, compiled and loaded, reads and writes QEMU's JSON. */
class GeneratedCodeRoundTripTest {
    private static final ObjectMapper JSON = QapiJson.mapper();
    private static final String UINT64_MAX = "18446744073709551615";

    private static Class<?> type(String name) {
        return GeneratedClasses.get().type(name);
    }

    private static Object read(String json, String type) throws Exception {
        return JSON.readValue(json, type(type));
    }

    private static Object build(String type, Object... args) {
        return Records.construct(type(type), args);
    }

    private static Object get(Object record, String component) {
        for (RecordComponent c : record.getClass().getRecordComponents()) {
            if (c.getName().equals(component)) {
                return Records.get(c, record);
            }
        }
        throw new AssertionError(record.getClass() + " has no component " + component);
    }

    private static Object constant(String enumType, String name) {
        for (Object c : type(enumType).getEnumConstants()) {
            if (((Enum<?>) c).name().equals(name)) {
                return c;
            }
        }
        throw new AssertionError(enumType + " has no constant " + name);
    }

    /** Reads {@code json} as {@code type} and writes it back: the same JSON tree must come out. */
    private static Object roundTrip(String json, String type) throws Exception {
        Object value = read(json, type);
        assertThat(JSON.readTree(JSON.writeValueAsString(value))).isEqualTo(JSON.readTree(json));
        return value;
    }

    @Test
    void structIgnoresUnknownMembersAndOmitsAbsentOnes() throws Exception {
        Object inet = read("{\"host\":\"h\",\"port\":\"22\",\"numeric\":true,\"new-in-qemu-10\":{\"x\":[1]}}",
                "InetSocketAddress");
        assertThat(inet).isEqualTo(build("InetSocketAddress", "h", "22", true, null));
        assertThat(JSON.writeValueAsString(inet)).isEqualTo("{\"host\":\"h\",\"port\":\"22\",\"numeric\":true}");
    }

    @Test
    void absentOptionalMembersAreNullAndAbsentRequiredPrimitivesZero() throws Exception {
        Object b = read("{\"s\":\"x\"}", "Builtins");
        assertThat(get(b, "s")).isEqualTo("x");
        assertThat(get(b, "optI")).isNull();
        assertThat(get(b, "optB")).isNull();
        assertThat(get(b, "optN")).isNull();
        assertThat(get(b, "optU64")).isNull();
        assertThat(get(b, "ints")).isNull();
        assertThat(get(b, "i")).isEqualTo(0L);
        assertThat(get(b, "b")).isEqualTo(false);
        assertThat(get(b, "n")).isEqualTo(0.0);
    }

    @Test
    void everyBuiltinRoundTrips() throws Exception {
        Object b = roundTrip("{\"s\":\"x\",\"n\":1.5,\"i\":-9007199254740993,\"i8\":-128,\"i16\":32767,\"i32\":-2147483648,"
                + "\"i64\":9223372036854775807,\"u8\":255,\"u16\":65535,\"u32\":4294967295,\"u64\":" + UINT64_MAX + ","
                + "\"sz\":" + UINT64_MAX + ",\"b\":true,\"anything\":{\"k\":[1,\"two\",null]},\"qtype\":\"qdict\","
                + "\"opt-n\":0.25,\"opt-i\":0,\"opt-i8\":7,\"opt-u32\":1,\"opt-u64\":" + UINT64_MAX + ",\"opt-b\":false,"
                + "\"strs\":[\"a\",\"b\"],\"ints\":[1,2],\"u64s\":[0," + UINT64_MAX + "]}", "Builtins");
        assertThat(get(b, "i")).isEqualTo(-9007199254740993L);
        assertThat(get(b, "u32")).isEqualTo(4294967295L);
        assertThat(get(b, "optB")).isEqualTo(Boolean.FALSE);
        assertThat(get(b, "ints")).isEqualTo(List.of(1L, 2L));
    }

    @Test
    void uint64MaximumIsReadAndWrittenExactly() throws Exception {
        Object f = read("{\"filename\":\"/m\",\"offset\":" + UINT64_MAX + "}", "FileMigrationArgs");
        assertThat(get(f, "offset")).isEqualTo(new BigInteger(UINT64_MAX));
        assertThat(JSON.writeValueAsString(f)).isEqualTo("{\"filename\":\"/m\",\"offset\":" + UINT64_MAX + "}");
        Object u = read("{\"u64s\":[" + UINT64_MAX + "]}", "Builtins");
        assertThat(get(u, "u64s")).isEqualTo(List.of(new BigInteger(UINT64_MAX)));
    }

    @Test
    void renamedMembersKeepTheirWireNames() throws Exception {
        Object p = roundTrip("{\"id\":\"p\",\"downtime-limit\":300,\"max-bandwidth\":" + UINT64_MAX + ",\"default\":true,"
                + "\"if\":\"eth0\",\"class\":3,\"hashCode\":4,\"x-cpr_enabled\":true,\"1st-pass\":2,\"state\":\"cpr-reboot\"}",
                "MigrationParams");
        assertThat(get(p, "default_")).isEqualTo(true);
        assertThat(get(p, "if_")).isEqualTo("eth0");
        assertThat(get(p, "class_")).isEqualTo(3L);
        assertThat(get(p, "hashCode_")).isEqualTo(4L);
        assertThat(get(p, "xCprEnabled")).isEqualTo(true);
        assertThat(get(p, "_1stPass")).isEqualTo(2L);
        assertThat(get(p, "downtimeLimit")).isEqualTo(BigInteger.valueOf(300));
        assertThat(get(p, "state")).isEqualTo(constant("RunState", "CPR_REBOOT"));
    }

    @Test
    void builderLeavesUnsetMembersAbsent() throws Exception {
        Class<?> params = type("MigrationParams");
        Object builder = params.getMethod("builder").invoke(null);
        Class<?> b = builder.getClass();
        b.getMethod("id", String.class).invoke(builder, "x");
        b.getMethod("default_", boolean.class).invoke(builder, true);
        b.getMethod("state", type("RunState")).invoke(builder, constant("RunState", "PAUSED"));
        Object built = b.getMethod("build").invoke(builder);
        assertThat(JSON.writeValueAsString(built)).isEqualTo("{\"id\":\"x\",\"default\":true,\"state\":\"paused\"}");
    }

    @Test
    void enumsUseWireSpellingBothWays() throws Exception {
        assertThat(read("\"cpr-reboot\"", "RunState")).isEqualTo(constant("RunState", "CPR_REBOOT"));
        assertThat(read("\"9p\"", "RunState")).isEqualTo(constant("RunState", "_9P"));
        assertThat(read("\"zeroPage\"", "RunState")).isEqualTo(constant("RunState", "ZERO_PAGE"));
        assertThat(JSON.writeValueAsString(constant("RunState", "CPR_REBOOT"))).isEqualTo("\"cpr-reboot\"");
        assertThat(JSON.writeValueAsString(constant("RunState", "_9P"))).isEqualTo("\"9p\"");
        assertThat(JSON.writeValueAsString(constant("RunState", "OLD_STATE"))).isEqualTo("\"old-state\"");
        assertThat(type("RunState").getMethod("wire").invoke(constant("RunState", "ZERO_PAGE"))).isEqualTo("zeroPage");
        assertThat(type("RunState").getMethod("fromWire", String.class).invoke(null, "old-state"))
                .isEqualTo(constant("RunState", "OLD_STATE"));
    }

    @Test
    void unknownEnumValueIsUnrecognized() throws Exception {
        Object unknown = constant("RunState", "UNRECOGNIZED");
        assertThat(read("\"hibernating\"", "RunState")).isEqualTo(unknown);
        assertThat(get(read("{\"running\":true,\"status\":\"hibernating\"}", "StatusInfo"), "status")).isEqualTo(unknown);
        assertThat(type("RunState").getMethod("fromWire", String.class).invoke(null, "hibernating")).isEqualTo(unknown);
        assertThat(type("RunState").getMethod("wire").invoke(unknown)).isNull();
    }

    @Test
    void unionIsFlatAndReadsBackToItsBranch() throws Exception {
        Object inet = roundTrip("{\"type\":\"inet\",\"host\":\"h\",\"port\":\"22\",\"keep-alive\":true}", "SocketAddress");
        assertThat(inet).isEqualTo(build("SocketAddress$Inet", build("InetSocketAddress", "h", "22", null, true)));
        assertThat(type("SocketAddress").getMethod("type").invoke(inet)).isEqualTo(constant("SocketAddressType", "INET"));
        Object fd = roundTrip("{\"type\":\"fd\",\"str\":\"3\"}", "SocketAddress");
        assertThat(fd).isEqualTo(build("SocketAddress$Fd", build("QapiString", "3")));
    }

    @Test
    void unionBranchValueIsWrittenFlatWhenBuiltInJava() throws Exception {
        Object unix = build("SocketAddress$Unix", build("UnixSocketAddress", "/run/s", null));
        assertThat(JSON.writeValueAsString(unix)).isEqualTo("{\"type\":\"unix\",\"path\":\"/run/s\"}");
    }

    @Test
    void unionEmptyBranch() throws Exception {
        Object vsock = roundTrip("{\"type\":\"vsock\"}", "SocketAddress");
        assertThat(vsock.getClass()).isEqualTo(type("SocketAddress$Vsock"));
        assertThat(vsock.getClass().getRecordComponents()).isEmpty();
    }

    @Test
    void unionWithCommonMembersAndEmptyBranches() throws Exception {
        Object raw = roundTrip("{\"driver\":\"raw\",\"node-name\":\"n0\",\"read-only\":true}", "ImageOptions");
        assertThat(raw).isEqualTo(build("ImageOptions$Raw", "n0", true));
        Object nullCo = roundTrip("{\"driver\":\"null-co\",\"node-name\":\"n1\"}", "ImageOptions");
        assertThat(nullCo).isEqualTo(build("ImageOptions$NullCo", "n1", null));
        Object qcow2 = roundTrip("{\"driver\":\"qcow2\",\"node-name\":\"n2\",\"cache-size\":" + UINT64_MAX
                + ",\"lazy-refcounts\":false}", "ImageOptions");
        assertThat(qcow2).isEqualTo(build("ImageOptions$Qcow2", "n2", null,
                build("Qcow2Options", new BigInteger(UINT64_MAX), false)));
        assertThat(type("ImageOptions").getMethod("nodeName").invoke(qcow2)).isEqualTo("n2");
    }

    @Test
    void unionWhoseBranchIsAUnion() throws Exception {
        Object socket = roundTrip("{\"transport\":\"socket\",\"type\":\"inet\",\"host\":\"dst\",\"port\":\"4444\"}",
                "MigrationAddress");
        assertThat(socket).isEqualTo(build("MigrationAddress$Socket",
                build("SocketAddress$Inet", build("InetSocketAddress", "dst", "4444", null, null))));
        Object unix = roundTrip("{\"transport\":\"socket\",\"type\":\"vsock\"}", "MigrationAddress");
        assertThat(unix).isEqualTo(build("MigrationAddress$Socket", build("SocketAddress$Vsock")));
        Object exec = roundTrip("{\"transport\":\"exec\",\"args\":[\"nc\",\"-l\"]}", "MigrationAddress");
        assertThat(exec).isEqualTo(build("MigrationAddress$Exec", build("MigrationExecCommand", List.of("nc", "-l"))));
    }

    @Test
    void unionBranchOfAnEmptyStruct() throws Exception {
        Object rdma = roundTrip("{\"transport\":\"rdma\"}", "MigrationAddress");
        assertThat(rdma).isEqualTo(build("MigrationAddress$Rdma", build("Empty")));
    }

    @Test
    void listsOfUnionsRoundTrip() throws Exception {
        Object args = roundTrip("{\"channels\":[{\"transport\":\"file\",\"filename\":\"/f\",\"offset\":0},"
                + "{\"transport\":\"socket\",\"type\":\"unix\",\"path\":\"/s\"}],\"detach\":true}", "MigrateArgs");
        List<?> channels = (List<?>) get(args, "channels");
        assertThat(channels).extracting(Object::getClass)
                .containsExactly(type("MigrationAddress$File"), type("MigrationAddress$Socket"));
    }

    @Test
    void unknownDiscriminatorValueIsAClearError() {
        assertThatThrownBy(() -> read("{\"type\":\"carrier-pigeon\",\"host\":\"h\"}", "SocketAddress"))
                .isInstanceOf(MismatchedInputException.class)
                .hasMessageContaining("SocketAddress: unknown type 'carrier-pigeon' (known: [inet, unix, vsock, fd])");
        assertThatThrownBy(() -> read("{\"host\":\"h\"}", "SocketAddress"))
                .isInstanceOf(MismatchedInputException.class)
                .hasMessageContaining("SocketAddress: member 'type' is missing; it says which branch the object is");
    }

    @Test
    void alternatePicksTheBranchByJsonType() throws Exception {
        assertThat(roundTrip("\"host.example\"", "StrOrNull")).isEqualTo(build("StrOrNull$S", "host.example"));
        assertThat(roundTrip("null", "StrOrNull")).isEqualTo(build("StrOrNull$N"));
        assertThat(roundTrip("5", "Limit")).isEqualTo(build("Limit$Count", 5L));
        assertThat(roundTrip("true", "Limit")).isEqualTo(build("Limit$On", true));
        assertThat(roundTrip("\"paused\"", "Limit")).isEqualTo(build("Limit$State", constant("RunState", "PAUSED")));
        assertThat(roundTrip("{\"host\":\"h\",\"port\":\"1\"}", "Limit"))
                .isEqualTo(build("Limit$Detail", build("InetSocketAddress", "h", "1", null, null)));
        assertThat(roundTrip("[\"a\",\"b\"]", "Limit")).isEqualTo(build("Limit$All", List.of("a", "b")));
        assertThat(roundTrip("0.25", "Ratio")).isEqualTo(build("Ratio$Fraction", 0.25));
        assertThat(roundTrip("\"half\"", "Ratio")).isEqualTo(build("Ratio$Name", "half"));
    }

    @Test
    void alternateWithoutAMatchingBranchIsAClearError() {
        assertThatThrownBy(() -> read("0.5", "Limit"))
                .isInstanceOf(MismatchedInputException.class)
                .hasMessageContaining("Limit: no alternative takes a JSON number");
        assertThatThrownBy(() -> read("{\"ratio\":true}", "Settings"))
                .isInstanceOf(MismatchedInputException.class)
                .hasMessageContaining("Ratio: no alternative takes a JSON boolean");
    }

    @Test
    void nullForAnAlternateWithoutANullBranchReadsAsJavaNull() throws Exception {
        assertThat(read("null", "Limit")).isNull();
        assertThat(get(read("{\"limit\":null}", "Settings"), "limit")).isNull();
    }

    @Test
    void alternatesAndUnionsAsMembersKeepNullApartFromAbsent() throws Exception {
        Object s = roundTrip("{\"tls-hostname\":null,\"limit\":7,\"ratio\":\"max\","
                + "\"addresses\":[{\"type\":\"fd\",\"str\":\"4\"}],"
                + "\"image\":{\"driver\":\"raw\",\"node-name\":\"disk\"}}", "Settings");
        assertThat(get(s, "tlsHostname")).isEqualTo(build("StrOrNull$N"));
        assertThat(get(s, "limit")).isEqualTo(build("Limit$Count", 7L));
        assertThat(get(s, "ratio")).isEqualTo(build("Ratio$Name", "max"));
        assertThat(get(s, "image")).isEqualTo(build("ImageOptions$Raw", "disk", null));
        Object empty = roundTrip("{}", "Settings");
        assertThat(get(empty, "tlsHostname")).isNull();
        assertThat(get(empty, "image")).isNull();
    }

    @Test
    void eventRecordFromDataAndTimestamp() throws Exception {
        ObjectNode data = (ObjectNode) JSON.readTree("{\"status\":\"postmigrate\","
                + "\"address\":{\"transport\":\"exec\",\"args\":[\"cat\"]}}");
        data.set("timestamp", JSON.readTree("{\"seconds\":1700000000,\"microseconds\":123456}"));
        Class<?> eventType = type("MigrationEvent");
        QapiEvent event = (QapiEvent) JSON.treeToValue(data, eventType);
        assertThat(event.timestamp()).isEqualTo(new Timestamp(1700000000L, 123456L));
        assertThat(event.timestamp().instant()).hasToString("2023-11-14T22:13:20.123456Z");
        assertThat(get(event, "status")).isEqualTo(constant("RunState", "POSTMIGRATE"));
        assertThat(get(event, "address")).isEqualTo(build("MigrationAddress$Exec", build("MigrationExecCommand", List.of("cat"))));
        assertThat(eventType.getField("NAME").get(null)).isEqualTo("MIGRATION");

        QapiEvent stop = (QapiEvent) JSON.readValue("{\"timestamp\":{\"seconds\":5,\"microseconds\":6}}", type("StopEvent"));
        assertThat(stop.timestamp()).isEqualTo(new Timestamp(5, 6));
    }

    @Test
    void eventCatalogueMapsWireNamesToRecords() throws Exception {
        @SuppressWarnings("unchecked")
        Map<String, Class<?>> types = (Map<String, Class<?>>) type("Events").getField("TYPES").get(null);
        assertThat(types).containsOnly(
                Map.entry("STOP", type("StopEvent")),
                Map.entry("MIGRATION", type("MigrationEvent")),
                Map.entry("MIGRATION_PASS", type("MigrationPassEvent")),
                Map.entry("SOCKET_CHANGED", type("SocketChangedEvent")),
                Map.entry("BOXED_STATUS", type("BoxedStatusEvent")));
        assertThat(type("SocketChangedEvent").getRecordComponents()).extracting(RecordComponent::getName)
                .containsExactly("host", "port", "numeric", "keepAlive", "timestamp");
    }

    private static Command<?, ?> command(String constant) throws Exception {
        return (Command<?, ?>) type("Commands").getField(constant).get(null);
    }

    @Test
    void commandDescriptors() throws Exception {
        Command<?, ?> status = command("QUERY_STATUS");
        assertThat(status.name()).isEqualTo("query-status");
        assertThat(status.argType()).isEqualTo(Void.class);
        assertThat(status.takesArguments()).isFalse();
        assertThat(status.returnType()).isEqualTo(type("StatusInfo"));
        assertThat(status.allowOob()).isFalse();
        assertThat(status.successResponse()).isTrue();

        Command<?, ?> migrate = command("MIGRATE");
        assertThat(migrate.name()).isEqualTo("migrate");
        assertThat(migrate.argType()).isEqualTo(type("MigrateArgs"));
        assertThat(migrate.takesArguments()).isTrue();
        assertThat(migrate.returnType()).isEqualTo(Void.class);
        assertThat(migrate.deprecated()).isTrue();

        assertThat(command("MIGRATE_SET_PARAMETERS").argType()).isEqualTo(type("MigrationParams"));
        assertThat(command("MIGRATE_SET_SETTINGS").argType()).isEqualTo(type("Settings"));
        Command<?, ?> connect = command("CONNECT");
        assertThat(connect.argType()).isEqualTo(type("SocketAddress"));
        assertThat(connect.returnType()).isEqualTo(type("SocketAddress"));
        assertThat(command("QUERY_BALLOON_SIZE").returnType()).isEqualTo(BigInteger.class);

        Command<?, ?> caps = command("QMP_CAPABILITIES");
        assertThat(caps.name()).isEqualTo("qmp_capabilities");
        assertThat(caps.allowOob()).isTrue();
        assertThat(caps.argType()).isEqualTo(Void.class);

        Command<?, ?> old = command("X_OLD_COMMAND");
        assertThat(old.successResponse()).isFalse();
        assertThat(old.features()).containsExactly("deprecated", "unstable");
        assertThat(command("STOP").features()).isEmpty();
        assertThat(command("STOP").deprecated()).isFalse();
    }

    @Test
    void commandArrayReturnTypesAreFullTypes() throws Exception {
        Type names = command("QUERY_NAMES").returnType();
        assertThat(names).isEqualTo(new TypeReference<List<String>>() {}.getType());
        List<Object> names2 = JSON.readValue("[\"a\",\"b\"]", JSON.constructType(names));
        assertThat(names2).containsExactly("a", "b");

        Command<?, ?> sockets = command("QUERY_SOCKETS");
        assertThat(sockets.allowOob()).isTrue();
        assertThat(JSON.constructType(sockets.returnType()))
                .isEqualTo(JSON.getTypeFactory().constructCollectionType(List.class, type("InetSocketAddress")));
        List<Object> read = JSON.readValue("[{\"host\":\"a\",\"port\":\"1\"}]", JSON.constructType(sockets.returnType()));
        assertThat(read).containsExactly(build("InetSocketAddress", "a", "1", null, null));
    }

    @Test
    void commandCatalogueListsAllInSchemaOrder() throws Exception {
        List<?> all = (List<?>) type("Commands").getField("ALL").get(null);
        assertThat(all).extracting(c -> ((Command<?, ?>) c).name()).containsExactly("query-status", "query-names",
                "query-sockets", "query-balloon-size", "migrate", "migrate-set-parameters", "migrate-set-settings",
                "connect", "stop", "qmp_capabilities", "x-old-command");
    }

    @Test
    void anyMemberKeepsArbitraryJson() throws Exception {
        Object b = read("{\"anything\":{\"deep\":[true,{\"n\":null}]}}", "Builtins");
        assertThat(get(b, "anything")).isEqualTo(JSON.readTree("{\"deep\":[true,{\"n\":null}]}"));
        assertThat(get(b, "anything")).isInstanceOf(JsonNode.class);
    }
}
