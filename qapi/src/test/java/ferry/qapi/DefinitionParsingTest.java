package ferry.qapi;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/** What each kind of definition reads into: the model records, field by field. */
class DefinitionParsingTest {

    private static Member member(String name, String type, boolean optional) {
        return new Member(name, TypeRef.of(type), optional, List.of(), null);
    }

    @Test
    void structWithBaseOptionalAndArrayMembers() {
        Schema s = SchemaFiles.single("""
                { 'struct': 'Base', 'data': { 'id': 'str' } }
                { 'struct': 'Derived', 'base': 'Base',
                  'data': { 'count': 'int', '*label': 'str', 'tags': [ 'str' ], '*parts': [ 'Base' ] } }
                """);
        StructDef d = (StructDef) s.get("Derived");
        assertThat(d.base()).isEqualTo("Base");
        assertThat(d.members()).containsExactly(
                member("count", "int", false),
                member("label", "str", true),
                new Member("tags", new TypeRef("str", true), false, List.of(), null),
                new Member("parts", new TypeRef("Base", true), true, List.of(), null));
        assertThat(s.allMembers(d)).extracting(Member::name).containsExactly("id", "count", "label", "tags", "parts");
        assertThat(((StructDef) s.get("Base")).base()).isNull();
    }

    @Test
    void everyBuiltinTypeIsAccepted() {
        StringBuilder data = new StringBuilder();
        List<String> builtins = List.of("str", "number", "int", "int8", "int16", "int32", "int64", "uint8", "uint16",
                "uint32", "uint64", "size", "bool", "null", "any", "QType");
        for (String b : builtins) {
            data.append("'m-").append(b).append("': '").append(b).append("', ");
        }
        Schema s = SchemaFiles.single("{ 'struct': 'All', 'data': { " + data + "'*last': [ 'any' ] } }");
        StructDef all = (StructDef) s.get("All");
        assertThat(all.members()).hasSize(builtins.size() + 1);
        assertThat(all.members().subList(0, builtins.size())).extracting(m -> m.type().name())
                .containsExactlyElementsOf(builtins);
        assertThat(Schema.BUILTINS).containsExactlyInAnyOrderElementsOf(builtins);
    }

    @Test
    void memberDictsCarryTypeConditionAndFeatures() {
        Schema s = SchemaFiles.single("""
                { 'struct': 'S', 'data': {
                    '*old': { 'type': 'int', 'features': [ 'deprecated' ] },
                    'linux': { 'type': [ 'str' ], 'if': 'CONFIG_LINUX' } } }
                """);
        List<Member> m = ((StructDef) s.get("S")).members();
        assertThat(m.get(0)).isEqualTo(new Member("old", TypeRef.of("int"), true, List.of("deprecated"), null));
        assertThat(m.get(0).deprecated()).isTrue();
        assertThat(m.get(1)).isEqualTo(new Member("linux", new TypeRef("str", true), false, List.of(),
                new Condition.Config("CONFIG_LINUX")));
        assertThat(m.get(1).deprecated()).isFalse();
    }

    @Test
    void enumWithStringAndObjectValuesAndPrefix() {
        Schema s = SchemaFiles.single("""
                { 'enum': 'State', 'prefix': 'QAPI_STATE',
                  'data': [ 'running', 'cpr-reboot',
                            { 'name': 'colo', 'if': 'CONFIG_REPLICATION' },
                            { 'name': 'old', 'features': [ 'deprecated', 'unstable' ] } ],
                  'features': [ 'unstable' ] }
                """);
        EnumDef e = (EnumDef) s.get("State");
        assertThat(e.prefix()).isEqualTo("QAPI_STATE");
        assertThat(e.features()).containsExactly("unstable");
        assertThat(e.values()).containsExactly(
                new EnumValue("running", List.of(), null),
                new EnumValue("cpr-reboot", List.of(), null),
                new EnumValue("colo", List.of(), new Condition.Config("CONFIG_REPLICATION")),
                new EnumValue("old", List.of("deprecated", "unstable"), null));
        assertThat(e.hasValue("cpr-reboot")).isTrue();
        assertThat(e.hasValue("CPR_REBOOT")).isFalse();
        assertThat(((EnumDef) SchemaFiles.single("{ 'enum': 'E', 'data': [] }").get("E")).prefix()).isNull();
    }

    @Test
    void unionWithNamedBase() {
        Schema s = SchemaFiles.single("""
                { 'enum': 'Driver', 'data': [ 'file', 'nbd', 'null-co' ] }
                { 'struct': 'Common', 'data': { 'driver': 'Driver', '*node-name': 'str' } }
                { 'struct': 'FileOpts', 'data': { 'filename': 'str' } }
                { 'struct': 'NbdOpts', 'data': { 'export': 'str' } }
                { 'union': 'Options', 'base': 'Common', 'discriminator': 'driver',
                  'data': { 'file': 'FileOpts', 'nbd': { 'type': 'NbdOpts', 'if': 'CONFIG_NBD' } } }
                """);
        UnionDef u = (UnionDef) s.get("Options");
        assertThat(u.base()).isEqualTo("Common");
        assertThat(u.inlineBase()).isEmpty();
        assertThat(u.discriminator()).isEqualTo("driver");
        // 'null-co' has no branch: it is an empty branch, not listed here
        assertThat(u.branches()).containsExactly(
                new Branch("file", TypeRef.of("FileOpts"), null),
                new Branch("nbd", TypeRef.of("NbdOpts"), new Condition.Config("CONFIG_NBD")));
        assertThat(s.baseMembers(u)).extracting(Member::name).containsExactly("driver", "node-name");
    }

    @Test
    void unionWithInlineBase() {
        Schema s = SchemaFiles.single("""
                { 'enum': 'Kind', 'data': [ 'inet', 'vsock' ] }
                { 'struct': 'Inet', 'data': { 'host': 'str' } }
                { 'union': 'Addr', 'base': { 'type': 'Kind', '*tag': 'str' }, 'discriminator': 'type',
                  'data': { 'inet': 'Inet' } }
                """);
        UnionDef u = (UnionDef) s.get("Addr");
        assertThat(u.base()).isNull();
        assertThat(u.inlineBase()).containsExactly(member("type", "Kind", false), member("tag", "str", true));
        assertThat(s.baseMembers(u)).isEqualTo(u.inlineBase());
        assertThat(u.branches()).containsExactly(new Branch("inet", TypeRef.of("Inet"), null));
    }

    @Test
    void unionBranchMayBeAUnion() {
        Schema s = SchemaFiles.single("""
                { 'enum': 'Kind', 'data': [ 'inet' ] }
                { 'struct': 'Inet', 'data': { 'host': 'str' } }
                { 'union': 'SocketAddress', 'base': { 'type': 'Kind' }, 'discriminator': 'type', 'data': { 'inet': 'Inet' } }
                { 'enum': 'Transport', 'data': [ 'socket', 'exec' ] }
                { 'union': 'MigrationAddress', 'base': { 'transport': 'Transport' }, 'discriminator': 'transport',
                  'data': { 'socket': 'SocketAddress' } }
                """);
        assertThat(((UnionDef) s.get("MigrationAddress")).branches())
                .containsExactly(new Branch("socket", TypeRef.of("SocketAddress"), null));
    }

    @Test
    void alternate() {
        Schema s = SchemaFiles.single("""
                { 'struct': 'Def', 'data': { 'x': 'int' } }
                { 'alternate': 'Ref', 'data': { 'definition': 'Def', 'reference': 'str', 'none': 'null' },
                  'if': 'CONFIG_BLOCK' }
                """);
        AlternateDef a = (AlternateDef) s.get("Ref");
        assertThat(a.alternatives()).containsExactly(member("definition", "Def", false),
                member("reference", "str", false), member("none", "null", false));
        assertThat(a.condition()).isEqualTo(new Condition.Config("CONFIG_BLOCK"));
    }

    @Test
    void commandWithInlineDataAndEveryFlag() {
        Schema s = SchemaFiles.single("""
                { 'command': 'migrate', 'data': { 'uri': 'str', '*detach': 'bool' },
                  'returns': [ 'str' ], 'allow-oob': true, 'success-response': false, 'gen': false,
                  'allow-preconfig': true, 'coroutine': true, 'features': [ 'deprecated' ] }
                """);
        CommandDef c = (CommandDef) s.get("migrate");
        assertThat(c).isEqualTo(new CommandDef("migrate", "", List.of("deprecated"), null, new SourcePos("main.json", 1),
                null, List.of(member("uri", "str", false), member("detach", "bool", true)), false,
                new TypeRef("str", true), true, false, false, true, true));
        assertThat(c.deprecated()).isTrue();
    }

    @Test
    void commandDefaults() {
        CommandDef c = (CommandDef) SchemaFiles.single("{ 'command': 'stop' }").get("stop");
        assertThat(c.argsType()).isNull();
        assertThat(c.inlineArgs()).isEmpty();
        assertThat(c.returns()).isNull();
        assertThat(c.boxed()).isFalse();
        assertThat(c.allowOob()).isFalse();
        assertThat(c.successResponse()).isTrue();
        assertThat(c.gen()).isTrue();
        assertThat(c.allowPreconfig()).isFalse();
        assertThat(c.coroutine()).isFalse();
        assertThat(c.features()).isEmpty();
        assertThat(c.deprecated()).isFalse();
    }

    @Test
    void commandDataNamingATypeAndBoxedUnion() {
        Schema s = SchemaFiles.single("""
                { 'struct': 'Args', 'data': { 'a': 'int' } }
                { 'enum': 'K', 'data': [ 'one' ] }
                { 'union': 'U', 'base': { 'k': 'K' }, 'discriminator': 'k', 'data': {} }
                { 'command': 'plain', 'data': 'Args', 'returns': 'Args' }
                { 'command': 'boxed', 'data': 'U', 'boxed': true }
                """);
        CommandDef plain = (CommandDef) s.get("plain");
        assertThat(plain.argsType()).isEqualTo("Args");
        assertThat(plain.inlineArgs()).isEmpty();
        assertThat(plain.boxed()).isFalse();
        assertThat(plain.returns()).isEqualTo(TypeRef.of("Args"));
        assertThat(s.argMembers(plain.argsType(), plain.inlineArgs())).containsExactly(member("a", "int", false));
        CommandDef boxed = (CommandDef) s.get("boxed");
        assertThat(boxed.argsType()).isEqualTo("U");
        assertThat(boxed.boxed()).isTrue();
        assertThat(s.argMembers(boxed.argsType(), boxed.inlineArgs())).isNull();
    }

    @Test
    void eventsWithInlineNamedAndBoxedData() {
        Schema s = SchemaFiles.single("""
                { 'struct': 'Info', 'data': { 'id': 'str' } }
                { 'event': 'STOP' }
                { 'event': 'MIGRATION_PASS', 'data': { 'pass': 'int' } }
                { 'event': 'NAMED', 'data': 'Info' }
                { 'event': 'BOXED', 'data': 'Info', 'boxed': true, 'if': 'CONFIG_X' }
                """);
        assertThat(s.get("STOP")).isEqualTo(new EventDef("STOP", "", List.of(), null, new SourcePos("main.json", 2),
                null, List.of(), false));
        assertThat(((EventDef) s.get("MIGRATION_PASS")).inlineArgs()).containsExactly(member("pass", "int", false));
        EventDef named = (EventDef) s.get("NAMED");
        assertThat(named.argsType()).isEqualTo("Info");
        assertThat(named.boxed()).isFalse();
        EventDef boxed = (EventDef) s.get("BOXED");
        assertThat(boxed.argsType()).isEqualTo("Info");
        assertThat(boxed.boxed()).isTrue();
        assertThat(boxed.condition()).isEqualTo(new Condition.Config("CONFIG_X"));
    }

    @Test
    void featuresKeepTheirNamesIncludingDictForm() {
        Schema s = SchemaFiles.single("""
                { 'struct': 'S', 'data': {},
                  'features': [ 'deprecated', 'unstable', 'fdset', { 'name': 'dynamic-auto-read-only', 'if': 'CONFIG_POSIX' } ] }
                { 'command': 'c', 'features': [ { 'name': 'unstable' } ] }
                """);
        assertThat(s.get("S").features()).containsExactly("deprecated", "unstable", "fdset", "dynamic-auto-read-only");
        assertThat(s.get("S").deprecated()).isTrue();
        assertThat(s.get("c").features()).containsExactly("unstable");
        assertThat(s.get("c").deprecated()).isFalse();
    }

    @Test
    void conditionsOfEveryShapeAreKept() {
        Schema s = SchemaFiles.single("""
                { 'enum': 'A', 'data': [ 'x' ], 'if': 'CONFIG_A' }
                { 'enum': 'B', 'data': [ 'x' ], 'if': { 'all': [ 'CONFIG_A', 'CONFIG_B' ] } }
                { 'enum': 'C', 'data': [ 'x' ], 'if': { 'any': [ 'CONFIG_A', { 'not': 'CONFIG_B' } ] } }
                { 'enum': 'D', 'data': [ 'x' ],
                  'if': { 'not': { 'all': [ 'CONFIG_A', { 'any': [ 'CONFIG_B', 'CONFIG_C' ] } ] } } }
                { 'enum': 'E', 'data': [ 'x' ] }
                """);
        Condition a = new Condition.Config("CONFIG_A");
        Condition b = new Condition.Config("CONFIG_B");
        Condition c = new Condition.Config("CONFIG_C");
        assertThat(s.get("A").condition()).isEqualTo(a);
        assertThat(s.get("B").condition()).isEqualTo(new Condition.All(List.of(a, b)));
        assertThat(s.get("C").condition()).isEqualTo(new Condition.Any(List.of(a, new Condition.Not(b))));
        Condition d = new Condition.Not(new Condition.All(List.of(a, new Condition.Any(List.of(b, c)))));
        assertThat(s.get("D").condition()).isEqualTo(d);
        assertThat(d).hasToString("!(CONFIG_A && (CONFIG_B || CONFIG_C))");
        assertThat(s.get("E").condition()).isNull();
    }
}
