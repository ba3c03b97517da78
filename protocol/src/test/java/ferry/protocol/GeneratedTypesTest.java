package ferry.protocol;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import ferry.qapi.QapiJson;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The generated migration vocabulary writes and reads the JSON QEMU speaks. */
class GeneratedTypesTest {
    private final ObjectMapper json = QapiJson.mapper();

    @Test
    void migrateWithChannelsNestsTwoUnionsFlat() throws Exception {
        MigrateArgs args = MigrateArgs.builder().channels(List.of(new MigrationChannel(MigrationChannelType.MAIN,
                new MigrationAddress.Socket(new SocketAddress.Inet(InetSocketAddress.builder()
                        .host("127.0.0.1").port("4444").build()))))).build();
        String wire = json.writeValueAsString(args);
        assertThat(wire).isEqualTo("{\"channels\":[{\"channel-type\":\"main\",\"addr\":"
                + "{\"transport\":\"socket\",\"type\":\"inet\",\"host\":\"127.0.0.1\",\"port\":\"4444\"}}]}");
        MigrateArgs back = json.readValue(wire, MigrateArgs.class);
        assertThat(back).isEqualTo(args);
    }

    @Test
    void strOrNullWritesNullToResetAndAStringToSet() throws Exception {
        MigrateSetParameters reset = MigrateSetParameters.builder().tlsCreds(new StrOrNull.N()).build();
        MigrateSetParameters set = MigrateSetParameters.builder().tlsCreds(new StrOrNull.S("tls0")).downtimeLimit(
                java.math.BigInteger.valueOf(300)).build();
        assertThat(json.writeValueAsString(reset)).isEqualTo("{\"tls-creds\":null}");
        assertThat(json.writeValueAsString(set)).contains("\"tls-creds\":\"tls0\"", "\"downtime-limit\":300");
        assertThat(json.readValue("{\"tls-creds\":\"tls0\"}", MigrateSetParameters.class).tlsCreds())
                .isEqualTo(new StrOrNull.S("tls0"));
    }

    @Test
    void migrationInfoFromANewerQemuStillReads() throws Exception {
        String reply = "{\"status\":\"postcopy-recover-setup\",\"total-time\":1200,\"some-future-member\":1,"
                + "\"ram\":{\"transferred\":1048576,\"remaining\":0,\"total\":134217728,\"duplicate\":5,"
                + "\"normal\":256,\"normal-bytes\":1048576,\"dirty-pages-rate\":0,\"mbps\":812.5,"
                + "\"dirty-sync-count\":3,\"postcopy-requests\":0,\"page-size\":4096,\"multifd-bytes\":0,"
                + "\"pages-per-second\":1000,\"precopy-bytes\":1048576,\"downtime-bytes\":0,\"postcopy-bytes\":0,"
                + "\"dirty-sync-missed-zero-copy\":0}}";
        MigrationInfo info = json.readValue(reply, MigrationInfo.class);
        assertThat(info.status()).isEqualTo(MigrationStatus.UNRECOGNIZED);
        assertThat(info.totalTime()).isEqualTo(1200L);
        assertThat(info.ram().total()).isEqualTo(134217728L);
        assertThat(info.ram().mbps()).isEqualTo(812.5);
        assertThat(info.downtime()).isNull();
    }

    @Test
    void enumsKeepTheWireSpelling() throws Exception {
        assertThat(json.writeValueAsString(MigrationCapability.POSTCOPY_RAM)).isEqualTo("\"postcopy-ram\"");
        assertThat(MigrationStatus.fromWire("pre-switchover")).isEqualTo(MigrationStatus.PRE_SWITCHOVER);
        assertThat(MigrationStatus.fromWire("nonsense")).isEqualTo(MigrationStatus.UNRECOGNIZED);
    }

    @Test
    void introspectionEntriesDecodeToTheirBranch() throws Exception {
        JsonNode entries = json.readTree("[{\"name\":\"migrate\",\"meta-type\":\"command\",\"arg-type\":\"42\","
                + "\"ret-type\":\"0\",\"allow-oob\":false},{\"name\":\"int\",\"meta-type\":\"builtin\",\"json-type\":\"int\"}]");
        SchemaInfo cmd = json.treeToValue(entries.get(0), SchemaInfo.class);
        assertThat(cmd).isInstanceOf(SchemaInfo.CommandBranch.class);
        assertThat(((SchemaInfo.CommandBranch) cmd).value().argType()).isEqualTo("42");
        assertThat(cmd.name()).isEqualTo("migrate");
        SchemaInfo builtin = json.treeToValue(entries.get(1), SchemaInfo.class);
        assertThat(((SchemaInfo.Builtin) builtin).value().jsonType()).isEqualTo(JSONType.INT);
    }

    @Test
    void commandDescriptorsCarryTheProtocolFacts() {
        assertThat(Commands.MIGRATE_PAUSE.allowOob()).isTrue();
        assertThat(Commands.MIGRATE_RECOVER.allowOob()).isTrue();
        assertThat(Commands.MIGRATE.allowOob()).isFalse();
        assertThat(Commands.QUERY_MIGRATIONTHREADS.returnType().getTypeName())
                .isEqualTo("java.util.List<ferry.protocol.MigrationThreadInfo>");
        assertThat(Commands.MIGRATE_INCOMING.argType()).isEqualTo(MigrateIncomingArgs.class);
        assertThat(Commands.QUERY_MIGRATE.takesArguments()).isFalse();
        assertThat(Events.TYPES.get("MIGRATION_PASS")).isEqualTo(MigrationPassEvent.class);
    }
}
