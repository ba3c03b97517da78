package ferry.qapi;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The lexical layer: quoting, comments, doc blocks, pragmas, positions. */
class SchemaSyntaxTest {

    @Test
    void singleQuotedStringsKeepEveryCharacterButTheQuotes() {
        Schema s = SchemaFiles.single("{ 'enum': 'Odd', 'data': [ 'a b', 'x-y.z', '#not-a-comment' ] }");
        EnumDef e = (EnumDef) s.get("Odd");
        assertThat(e.values()).extracting(EnumValue::name).containsExactly("a b", "x-y.z", "#not-a-comment");
    }

    @Test
    void commentsAreSkippedAnywhere() {
        Schema s = SchemaFiles.single("""
                # a comment before anything
                { 'struct': 'S', # after a key
                  # on its own line inside a dict
                  'data': { 'a': 'int' } } # after the expression
                # at the end, without newline""");
        assertThat(s.definitions()).extracting(Definition::name).containsExactly("S");
        assertThat(((StructDef) s.get("S")).members()).extracting(Member::name).containsExactly("a");
    }

    @Test
    void oneLineDocComesFromTheNameLineOfTheDocBlock() {
        Schema s = SchemaFiles.single("""
                ##
                # @Point: A point on the plane.
                #
                # @x: the abscissa
                ##
                { 'struct': 'Point', 'data': { 'x': 'int' } }
                """);
        assertThat(s.get("Point").doc()).isEqualTo("A point on the plane.");
    }

    @Test
    void docOnTheLinesAfterTheNameLineIsTakenWhenTheNameLineIsBare() {
        Schema s = SchemaFiles.single("""
                ##
                # @Point:
                #
                # @x: not this
                #
                # Described here.
                # And more.
                ##
                { 'struct': 'Point', 'data': { 'x': 'int' } }
                """);
        assertThat(s.get("Point").doc()).isEqualTo("Described here.");
    }

    @Test
    void docBlockBelongsOnlyToTheNextDefinition() {
        Schema s = SchemaFiles.single("""
                ##
                # @A: First.
                ##
                { 'enum': 'A', 'data': [ 'x' ] }
                { 'enum': 'B', 'data': [ 'y' ] }
                """);
        assertThat(s.get("A").doc()).isEqualTo("First.");
        assertThat(s.get("B").doc()).isEmpty();
    }

    @Test
    void doubleHashAfterCodeIsAPlainComment() {
        Schema s = SchemaFiles.single("""
                { 'enum': 'A', 'data': [ 'x' ] } ## not a doc block
                { 'enum': 'B', 'data': [ 'y' ] }
                """);
        assertThat(s.definitions()).extracting(Definition::name).containsExactly("A", "B");
        assertThat(s.get("B").doc()).isEmpty();
    }

    @Test
    void pragmasAreKeptInOrder() {
        Schema s = SchemaFiles.single("""
                { 'pragma': { 'doc-required': true } }
                { 'pragma': { 'command-returns-exceptions': [ 'query-x', 'query-y' ] } }
                { 'enum': 'E', 'data': [ 'a' ] }
                """);
        assertThat(s.pragmas()).hasSize(2);
        assertThat(s.pragmas().get(0)).isEqualTo(Map.of("doc-required", true));
        assertThat(s.pragmas().get(1)).isEqualTo(Map.of("command-returns-exceptions", List.of("query-x", "query-y")));
        assertThat(s.definitions()).extracting(Definition::name).containsExactly("E");
    }

    @Test
    void definitionsRememberFileAndLine() {
        Schema s = SchemaFiles.single("""
                # line 1

                { 'enum': 'E',
                  'data': [ 'a' ] }
                ##
                # @S: doc
                ##
                { 'struct': 'S', 'data': {} }
                """);
        assertThat(s.get("E").pos()).isEqualTo(new SourcePos("main.json", 3));
        assertThat(s.get("S").pos()).isEqualTo(new SourcePos("main.json", 8));
        assertThat(s.fileOf("S")).isEqualTo("main.json");
    }

    @Test
    void definitionsKeepSchemaOrder() {
        Schema s = SchemaFiles.single("""
                { 'enum': 'Z', 'data': [ 'a' ] }
                { 'struct': 'A', 'data': { 'z': 'Z' } }
                { 'command': 'm' }
                """);
        assertThat(s.definitions()).extracting(Definition::name).containsExactly("Z", "A", "m");
        assertThat(s.definitions(StructDef.class)).extracting(Definition::name).containsExactly("A");
        assertThat(s.get("nope")).isNull();
    }
}
