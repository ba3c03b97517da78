package ferry.qapi;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Comparing a schema with hand-written {@code query-qmp-schema} answers in QEMU's SchemaInfo format. */
class ConformanceTest {
    /** QEMU's built-in types and its empty object "0", as introspection lists them. */
    private static final String BUILTINS = """
            {"name": "str", "meta-type": "builtin", "json-type": "string"},
            {"name": "int", "meta-type": "builtin", "json-type": "int"},
            {"name": "number", "meta-type": "builtin", "json-type": "number"},
            {"name": "bool", "meta-type": "builtin", "json-type": "boolean"},
            {"name": "null", "meta-type": "builtin", "json-type": "null"},
            {"name": "any", "meta-type": "builtin", "json-type": "value"},
            {"name": "[str]", "meta-type": "array", "element-type": "str"},
            {"name": "[int]", "meta-type": "array", "element-type": "int"},
            {"name": "0", "meta-type": "object", "members": []},
            """;

    private static JsonNode introspection(String entries) {
        try {
            return QapiJson.mapper().readTree("[" + BUILTINS + entries + "]");
        } catch (Exception e) {
            throw new IllegalArgumentException(e);
        }
    }

    private static Conformance.Report check(String schema, String entries, String... completeFiles) {
        return Conformance.check(SchemaFiles.of("ours.json", schema).load("ours.json"), introspection(entries),
                Set.of(completeFiles));
    }

    private static Conformance.Difference diff(String path, Conformance.Kind kind, String expected, String found) {
        return new Conformance.Difference(path, kind, expected, found);
    }

    @Test
    void missingCommandsAndEvents() {
        Conformance.Report r = check("""
                { 'command': 'stop' }
                { 'command': 'query-gone' }
                { 'command': 'BOOM' }
                { 'event': 'STOP' }
                { 'event': 'GONE' }
                """, """
                {"name": "stop", "meta-type": "command", "arg-type": "0", "ret-type": "0"},
                {"name": "STOP", "meta-type": "event", "arg-type": "0"},
                {"name": "BOOM", "meta-type": "event", "arg-type": "0"}
                """);
        assertThat(r.commandsBound()).containsExactly("stop", "query-gone", "BOOM");
        assertThat(r.commandsMissing()).containsExactly("query-gone", "BOOM");
        assertThat(r.commandsPresent()).containsExactly("stop");
        assertThat(r.eventsBound()).containsExactly("STOP", "GONE");
        assertThat(r.eventsMissing()).containsExactly("GONE");
        assertThat(r.differences()).isEmpty();
        assertThat(r.unreached()).isEmpty();
    }

    @Test
    void matchingSchemaHasNoDifferences() {
        Conformance.Report r = check("""
                { 'enum': 'RunState', 'data': [ 'running', 'paused' ] }
                { 'struct': 'StatusInfo', 'data': { 'running': 'bool', 'status': 'RunState', '*reason': 'str' } }
                { 'command': 'query-status', 'returns': 'StatusInfo' }
                { 'command': 'set', 'data': { 'a': 'int8', 'b': 'uint64', 'c': 'size', 'd': 'number', 'e': 'any',
                                              'f': [ 'str' ], '*g': 'QType', '*h': 'null' }, 'returns': [ 'int' ] }
                { 'event': 'STATE', 'data': { 'state': 'RunState' } }
                """, """
                {"name": "query-status", "meta-type": "command", "arg-type": "0", "ret-type": "1"},
                {"name": "1", "meta-type": "object", "members": [
                    {"name": "running", "type": "bool"}, {"name": "status", "type": "2"},
                    {"name": "reason", "type": "str", "default": null}]},
                {"name": "2", "meta-type": "enum", "values": ["running", "paused"]},
                {"name": "set", "meta-type": "command", "arg-type": "3", "ret-type": "[int]"},
                {"name": "3", "meta-type": "object", "members": [
                    {"name": "a", "type": "int"}, {"name": "b", "type": "int"}, {"name": "c", "type": "int"},
                    {"name": "d", "type": "number"}, {"name": "e", "type": "any"}, {"name": "f", "type": "[str]"},
                    {"name": "g", "type": "4", "default": null}, {"name": "h", "type": "null", "default": null}]},
                {"name": "4", "meta-type": "enum", "values": ["none", "qnull", "qnum", "qstring", "qdict", "qlist", "qbool"]},
                {"name": "STATE", "meta-type": "event", "arg-type": "5"},
                {"name": "5", "meta-type": "object", "members": [{"name": "state", "type": "2"}]}
                """, "ours.json");
        assertThat(r.differences()).isEmpty();
        assertThat(r.commandsMissing()).isEmpty();
        assertThat(r.eventsMissing()).isEmpty();
        assertThat(r.unreached()).isEmpty();
    }

    @Test
    void missingMember() {
        Conformance.Report r = check("""
                { 'struct': 'Info', 'data': { 'id': 'str', '*singlestep': 'bool' } }
                { 'command': 'query-info', 'returns': 'Info' }
                { 'command': 'go', 'data': { 'speed': 'int', '*new-arg': [ 'str' ] } }
                """, """
                {"name": "query-info", "meta-type": "command", "arg-type": "0", "ret-type": "1"},
                {"name": "1", "meta-type": "object", "members": [{"name": "id", "type": "str"}]},
                {"name": "go", "meta-type": "command", "arg-type": "2", "ret-type": "0"},
                {"name": "2", "meta-type": "object", "members": [{"name": "speed", "type": "int"}]}
                """);
        assertThat(r.differences()).containsExactly(
                diff("Info.singlestep", Conformance.Kind.MISSING, "optional bool", "absent"),
                diff("go.new-arg", Conformance.Kind.MISSING, "optional ['str']", "absent"));
        assertThat(r.mismatches()).isEqualTo(r.differences());
        assertThat(r.differences().get(0))
                .hasToString("Info.singlestep: missing in QEMU (binding: optional bool, QEMU: absent)");
    }

    @Test
    void typeMismatches() {
        Conformance.Report r = check("""
                { 'enum': 'Mode', 'data': [ 'a' ] }
                { 'struct': 'Inner', 'data': { 'x': 'int' } }
                { 'command': 'go', 'data': { 'speed': 'int', 'name': 'str', 'list': [ 'int' ], 'one': 'int',
                                             'mode': 'Mode', 'inner': 'Inner' }, 'returns': [ 'str' ] }
                """, """
                {"name": "go", "meta-type": "command", "arg-type": "1", "ret-type": "str"},
                {"name": "1", "meta-type": "object", "members": [
                    {"name": "speed", "type": "str"}, {"name": "name", "type": "[str]"},
                    {"name": "list", "type": "int"}, {"name": "one", "type": "[int]"},
                    {"name": "mode", "type": "str"}, {"name": "inner", "type": "bool"}]}
                """);
        assertThat(r.differences()).containsExactly(
                diff("go.speed", Conformance.Kind.TYPE, "int (int)", "string"),
                diff("go.name", Conformance.Kind.TYPE, "str (string)", "array of string"),
                diff("go.list", Conformance.Kind.TYPE, "['int']", "int"),
                diff("go.one", Conformance.Kind.TYPE, "int (int)", "array of int"),
                diff("go.mode", Conformance.Kind.TYPE, "enum Mode", "string"),
                diff("go.inner", Conformance.Kind.TYPE, "struct Inner", "boolean"),
                diff("go.returns", Conformance.Kind.TYPE, "['str']", "string"));
    }

    @Test
    void optionalityMismatchesBothWays() {
        Conformance.Report r = check("""
                { 'command': 'go', 'data': { 'now-required': 'str', '*now-optional': 'int' } }
                """, """
                {"name": "go", "meta-type": "command", "arg-type": "1", "ret-type": "0"},
                {"name": "1", "meta-type": "object", "members": [
                    {"name": "now-required", "type": "str", "default": null},
                    {"name": "now-optional", "type": "int"}]}
                """);
        assertThat(r.differences()).containsExactly(
                diff("go.now-required", Conformance.Kind.OPTIONALITY, "required", "optional"),
                diff("go.now-optional", Conformance.Kind.OPTIONALITY, "optional", "required"));
    }

    private static final String ENUM_AND_STRUCT = """
            { 'enum': 'RunState', 'data': [ 'running', 'cpr-reboot' ] }
            { 'struct': 'Info', 'data': { 'state': 'RunState' } }
            { 'command': 'query-info', 'returns': 'Info' }
            """;
    private static final String ENUM_AND_STRUCT_QEMU = """
            {"name": "query-info", "meta-type": "command", "arg-type": "0", "ret-type": "1"},
            {"name": "1", "meta-type": "object", "members": [
                {"name": "state", "type": "2"}, {"name": "since-qemu-10", "type": "int", "default": null}]},
            {"name": "2", "meta-type": "enum", "values": ["running", "debug"]}
            """;

    @Test
    void missingEnumValueIsAlwaysReportedExtrasOnlyForPartialFiles() {
        Conformance.Report r = check(ENUM_AND_STRUCT, ENUM_AND_STRUCT_QEMU);
        assertThat(r.differences()).containsExactly(
                diff("RunState.cpr-reboot", Conformance.Kind.MISSING, "value", "absent"));
    }

    @Test
    void extraMembersAndValuesAreReportedForCompleteFiles() {
        Conformance.Report r = check(ENUM_AND_STRUCT, ENUM_AND_STRUCT_QEMU, "ours.json");
        assertThat(r.differences()).containsExactlyInAnyOrder(
                diff("RunState.cpr-reboot", Conformance.Kind.MISSING, "value", "absent"),
                diff("RunState.debug", Conformance.Kind.EXTRA, "absent", "value"),
                diff("Info.since-qemu-10", Conformance.Kind.EXTRA, "absent", "optional int"));
        assertThat(r.mismatches()).containsExactly(
                diff("RunState.cpr-reboot", Conformance.Kind.MISSING, "value", "absent"));
    }

    @Test
    void completenessFollowsTheFileOfEachDefinition() {
        Schema schema = SchemaFiles.of(
                "top.json", "{ 'include': 'complete.json' }\n{ 'include': 'partial.json' }\n",
                "complete.json", "{ 'enum': 'Full', 'data': [ 'a' ] }\n",
                "partial.json", """
                        { 'enum': 'Part', 'data': [ 'a' ] }
                        { 'command': 'go', 'data': { 'f': 'Full', 'p': 'Part' } }
                        """).load("top.json");
        JsonNode qemu = introspection("""
                {"name": "go", "meta-type": "command", "arg-type": "1", "ret-type": "0"},
                {"name": "1", "meta-type": "object", "members": [
                    {"name": "f", "type": "2"}, {"name": "p", "type": "3"}, {"name": "new", "type": "int"}]},
                {"name": "2", "meta-type": "enum", "values": ["a", "b"]},
                {"name": "3", "meta-type": "enum", "values": ["a", "c"]}
                """);
        Conformance.Report r = Conformance.check(schema, qemu, Set.of("complete.json"));
        assertThat(r.differences()).containsExactly(diff("Full.b", Conformance.Kind.EXTRA, "absent", "value"));
        Conformance.Report all = Conformance.check(schema, qemu, Set.of("complete.json", "partial.json"));
        assertThat(all.differences()).containsExactlyInAnyOrder(
                diff("Full.b", Conformance.Kind.EXTRA, "absent", "value"),
                diff("Part.c", Conformance.Kind.EXTRA, "absent", "value"),
                diff("go.new", Conformance.Kind.EXTRA, "absent", "int"));
    }

    private static final String UNION = """
            { 'enum': 'Kind', 'data': [ 'inet', 'unix', 'vsock' ] }
            { 'struct': 'Inet', 'data': { 'host': 'str', 'port': 'str' } }
            { 'struct': 'Unix', 'data': { 'path': 'str' } }
            { 'union': 'Addr', 'base': { 'type': 'Kind', '*id': 'str' }, 'discriminator': 'type',
              'data': { 'inet': 'Inet', 'unix': 'Unix' } }
            { 'command': 'connect', 'data': 'Addr', 'boxed': true }
            """;

    @Test
    void unionVariantsAreComparedBranchByBranch() {
        Conformance.Report r = check(UNION, """
                {"name": "connect", "meta-type": "command", "arg-type": "1", "ret-type": "0"},
                {"name": "1", "meta-type": "object", "tag": "type",
                 "members": [{"name": "type", "type": "2"}, {"name": "id", "type": "str", "default": null}],
                 "variants": [{"case": "inet", "type": "3"}, {"case": "vsock", "type": "0"}, {"case": "fd", "type": "4"}]},
                {"name": "2", "meta-type": "enum", "values": ["inet", "vsock", "fd"]},
                {"name": "3", "meta-type": "object", "members": [{"name": "host", "type": "str"}, {"name": "port", "type": "int"}]},
                {"name": "4", "meta-type": "object", "members": [{"name": "str", "type": "str"}]}
                """);
        assertThat(r.differences()).containsExactly(
                diff("Kind.unix", Conformance.Kind.MISSING, "value", "absent"),
                diff("Inet.port", Conformance.Kind.TYPE, "str (string)", "int"),
                diff("Addr.(unix)", Conformance.Kind.MISSING, "branch Unix", "absent"));
    }

    @Test
    void extraUnionBranchesCountOnlyWithMembersAndOnlyForCompleteFiles() {
        String qemu = """
                {"name": "connect", "meta-type": "command", "arg-type": "1", "ret-type": "0"},
                {"name": "1", "meta-type": "object", "tag": "type",
                 "members": [{"name": "type", "type": "2"}, {"name": "id", "type": "str", "default": null}],
                 "variants": [{"case": "inet", "type": "3"}, {"case": "unix", "type": "4"},
                              {"case": "vsock", "type": "0"}, {"case": "fd", "type": "5"}]},
                {"name": "2", "meta-type": "enum", "values": ["inet", "unix", "vsock", "fd"]},
                {"name": "3", "meta-type": "object", "members": [{"name": "host", "type": "str"}, {"name": "port", "type": "str"}]},
                {"name": "4", "meta-type": "object", "members": [{"name": "path", "type": "str"}]},
                {"name": "5", "meta-type": "object", "members": [{"name": "str", "type": "str"}]}
                """;
        assertThat(check(UNION, qemu).differences()).isEmpty();
        assertThat(check(UNION, qemu, "ours.json").differences()).containsExactlyInAnyOrder(
                diff("Kind.fd", Conformance.Kind.EXTRA, "absent", "value"),
                diff("Addr.(fd)", Conformance.Kind.EXTRA, "absent", "branch"));
    }

    @Test
    void unionDiscriminatorAndShapeMismatches() {
        Conformance.Report r = check(UNION + "{ 'command': 'other', 'data': { 'a': 'Addr' } }\n", """
                {"name": "connect", "meta-type": "command", "arg-type": "1", "ret-type": "0"},
                {"name": "1", "meta-type": "object", "tag": "kind",
                 "members": [{"name": "kind", "type": "2"}, {"name": "id", "type": "str", "default": null}],
                 "variants": []},
                {"name": "2", "meta-type": "enum", "values": ["inet", "unix", "vsock"]},
                {"name": "other", "meta-type": "command", "arg-type": "3", "ret-type": "0"},
                {"name": "3", "meta-type": "object", "members": [{"name": "a", "type": "4"}]},
                {"name": "4", "meta-type": "object", "members": [{"name": "type", "type": "str"}]}
                """);
        assertThat(r.differences()).containsExactly(
                diff("Addr.type", Conformance.Kind.MISSING, "Kind", "absent"),
                diff("Addr.(discriminator)", Conformance.Kind.TYPE, "type", "kind"),
                diff("Addr.(inet)", Conformance.Kind.MISSING, "branch Inet", "absent"),
                diff("Addr.(unix)", Conformance.Kind.MISSING, "branch Unix", "absent"),
                diff("other.a", Conformance.Kind.TYPE, "union Addr", "object"));
    }

    @Test
    void unionBranchThatIsAUnionIsCheckedInside() {
        Conformance.Report r = check(UNION + """
                { 'enum': 'Transport', 'data': [ 'socket' ] }
                { 'union': 'MigrationAddress', 'base': { 'transport': 'Transport' }, 'discriminator': 'transport',
                  'data': { 'socket': 'Addr' } }
                { 'command': 'migrate', 'data': { 'channels': [ 'MigrationAddress' ] } }
                """, """
                {"name": "connect", "meta-type": "command", "arg-type": "4", "ret-type": "0"},
                {"name": "migrate", "meta-type": "command", "arg-type": "1", "ret-type": "0"},
                {"name": "1", "meta-type": "object", "members": [{"name": "channels", "type": "[2]"}]},
                {"name": "[2]", "meta-type": "array", "element-type": "2"},
                {"name": "2", "meta-type": "object", "tag": "transport",
                 "members": [{"name": "transport", "type": "3"}], "variants": [{"case": "socket", "type": "4"}]},
                {"name": "3", "meta-type": "enum", "values": ["socket"]},
                {"name": "4", "meta-type": "object", "tag": "type",
                 "members": [{"name": "type", "type": "5"}, {"name": "id", "type": "str", "default": null}],
                 "variants": [{"case": "inet", "type": "6"}, {"case": "unix", "type": "7"}]},
                {"name": "5", "meta-type": "enum", "values": ["inet", "unix", "vsock"]},
                {"name": "6", "meta-type": "object", "members": [{"name": "host", "type": "str"}, {"name": "port", "type": "str"}]},
                {"name": "7", "meta-type": "object", "members": [{"name": "path", "type": "int"}]}
                """);
        assertThat(r.differences()).containsExactly(diff("Unix.path", Conformance.Kind.TYPE, "str (string)", "int"));
    }

    @Test
    void alternatesAreComparedByJsonKind() {
        Conformance.Report r = check("""
                { 'enum': 'Mode', 'data': [ 'on' ] }
                { 'struct': 'Detail', 'data': { 'x': 'int' } }
                { 'alternate': 'StrOrNull', 'data': { 's': 'str', 'n': 'null' } }
                { 'alternate': 'Limit', 'data': { 'count': 'int', 'mode': 'Mode', 'detail': 'Detail', 'list': [ 'str' ] } }
                { 'command': 'set', 'data': { '*host': 'StrOrNull', '*limit': 'Limit', '*plain': 'StrOrNull' } }
                """, """
                {"name": "set", "meta-type": "command", "arg-type": "1", "ret-type": "0"},
                {"name": "1", "meta-type": "object", "members": [
                    {"name": "host", "type": "2", "default": null}, {"name": "limit", "type": "3", "default": null},
                    {"name": "plain", "type": "str", "default": null}]},
                {"name": "2", "meta-type": "alternate", "members": [{"type": "str"}, {"type": "null"}]},
                {"name": "3", "meta-type": "alternate", "members": [{"type": "int"}, {"type": "4"}]},
                {"name": "4", "meta-type": "object", "members": [{"name": "x", "type": "int"}]}
                """);
        assertThat(r.differences()).containsExactly(
                diff("Limit.mode", Conformance.Kind.MISSING, "string alternative", "absent"),
                diff("Limit.list", Conformance.Kind.MISSING, "array alternative", "absent"),
                diff("set.plain", Conformance.Kind.TYPE, "alternate StrOrNull", "string"));
        // the types an alternate names count as reached
        assertThat(r.unreached()).isEmpty();
    }

    @Test
    void unreachedDefinitions() {
        Conformance.Report r = check("""
                { 'struct': 'Base', 'data': { 'id': 'str' } }
                { 'struct': 'Params', 'base': 'Base', 'data': { 'x': 'int' } }
                { 'struct': 'Unused', 'data': { 'y': 'int' } }
                { 'enum': 'UnusedEnum', 'data': [ 'a' ] }
                { 'struct': 'OfMissing', 'data': {} }
                { 'command': 'set', 'data': 'Params' }
                { 'command': 'gone', 'returns': 'OfMissing' }
                """, """
                {"name": "set", "meta-type": "command", "arg-type": "1", "ret-type": "0"},
                {"name": "1", "meta-type": "object", "members": [{"name": "id", "type": "str"}, {"name": "x", "type": "int"}]}
                """);
        assertThat(r.differences()).isEmpty();
        assertThat(r.commandsMissing()).containsExactly("gone");
        // Base is checked through Params, so it is reached
        assertThat(r.unreached()).containsExactly("Unused", "UnusedEnum", "OfMissing");
    }

    @Test
    void unionNamedBaseIsReached() {
        Conformance.Report r = check("""
                { 'enum': 'Kind', 'data': [ 'a' ] }
                { 'struct': 'Root', 'data': { 'id': 'str' } }
                { 'struct': 'Common', 'base': 'Root', 'data': { 'kind': 'Kind' } }
                { 'union': 'U', 'base': 'Common', 'discriminator': 'kind', 'data': {} }
                { 'event': 'EV', 'data': { 'u': 'U' } }
                """, """
                {"name": "EV", "meta-type": "event", "arg-type": "1"},
                {"name": "1", "meta-type": "object", "members": [{"name": "u", "type": "2"}]},
                {"name": "2", "meta-type": "object", "tag": "kind",
                 "members": [{"name": "id", "type": "str"}, {"name": "kind", "type": "3"}],
                 "variants": [{"case": "a", "type": "0"}]},
                {"name": "3", "meta-type": "enum", "values": ["a"]}
                """, "ours.json");
        assertThat(r.differences()).isEmpty();
        assertThat(r.unreached()).isEmpty();
    }

    @Test
    void eventDataIsCompared() {
        Conformance.Report r = check("""
                { 'struct': 'Info', 'data': { 'id': 'str', 'n': 'int' } }
                { 'event': 'INLINE', 'data': { 'pass': 'int' } }
                { 'event': 'BOXED', 'data': 'Info', 'boxed': true }
                """, """
                {"name": "INLINE", "meta-type": "event", "arg-type": "1"},
                {"name": "1", "meta-type": "object", "members": [{"name": "pass", "type": "str"}]},
                {"name": "BOXED", "meta-type": "event", "arg-type": "2"},
                {"name": "2", "meta-type": "object", "members": [{"name": "id", "type": "str"}]}
                """);
        assertThat(r.differences()).containsExactly(
                diff("INLINE.pass", Conformance.Kind.TYPE, "int (int)", "string"),
                diff("Info.n", Conformance.Kind.MISSING, "int", "absent"));
    }
}
