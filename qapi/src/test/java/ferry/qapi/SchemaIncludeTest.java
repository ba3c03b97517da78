package ferry.qapi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** {@code include}: relative paths, sub-folders, each file once, loops, missing files. */
class SchemaIncludeTest {

    @Test
    void includedDefinitionsComeBeforeTheRestOfTheIncludingFile() {
        SchemaFiles files = SchemaFiles.of(
                "top.json", """
                        { 'enum': 'First', 'data': [ 'a' ] }
                        { 'include': 'common.json' }
                        { 'struct': 'Last', 'data': { 'c': 'Common' } }
                        """,
                "common.json", "{ 'enum': 'Common', 'data': [ 'x' ] }\n");
        Schema s = files.load("top.json");
        assertThat(s.definitions()).extracting(Definition::name).containsExactly("First", "Common", "Last");
        assertThat(s.fileOf("First")).isEqualTo("top.json");
        assertThat(s.fileOf("Common")).isEqualTo("common.json");
    }

    @Test
    void includePathsAreRelativeToTheIncludingFileInSubfolders() {
        SchemaFiles files = SchemaFiles.of(
                "top.json", "{ 'include': 'block/core.json' }\n",
                "block/core.json", """
                        { 'include': 'types.json' }
                        { 'include': '../common.json' }
                        { 'struct': 'Core', 'data': { 't': 'BlockType', 'c': 'Common' } }
                        """,
                "block/types.json", "{ 'enum': 'BlockType', 'data': [ 'raw' ] }\n",
                "common.json", "{ 'enum': 'Common', 'data': [ 'x' ] }\n");
        Schema s = files.load("top.json");
        assertThat(s.definitions()).extracting(Definition::name).containsExactly("BlockType", "Common", "Core");
        assertThat(s.fileOf("BlockType")).isEqualTo("block/types.json");
        assertThat(s.fileOf("Common")).isEqualTo("common.json");
        assertThat(s.get("BlockType").pos()).isEqualTo(new SourcePos("block/types.json", 1));
    }

    @Test
    void eachFileIsReadOnceHoweverOftenItIsIncluded() {
        SchemaFiles files = SchemaFiles.of(
                "top.json", """
                        { 'include': 'a.json' }
                        { 'include': 'b.json' }
                        { 'include': 'common.json' }
                        """,
                "a.json", "{ 'include': 'common.json' }\n{ 'struct': 'A', 'data': { 'c': 'Common' } }\n",
                "b.json", "{ 'include': 'sub/../common.json' }\n{ 'struct': 'B', 'data': { 'c': 'Common' } }\n",
                "common.json", "{ 'enum': 'Common', 'data': [ 'x' ] }\n");
        Schema s = files.load("top.json");
        assertThat(s.definitions()).extracting(Definition::name).containsExactly("Common", "A", "B");
        assertThat(files.reads("common.json")).isEqualTo(1);
    }

    @Test
    void anInclusionLoopFailsNamingTheLoop() {
        SchemaFiles files = SchemaFiles.of(
                "top.json", "{ 'include': 'a.json' }\n",
                "a.json", "# a\n{ 'include': 'sub/b.json' }\n",
                "sub/b.json", "\n\n{ 'include': '../a.json' }\n");
        assertThatThrownBy(() -> files.load("top.json"))
                .isInstanceOf(SchemaException.class)
                .hasMessage("sub/b.json:3: inclusion loop: top.json -> a.json -> sub/b.json -> a.json");
    }

    @Test
    void aFileIncludingItselfIsALoop() {
        SchemaFiles files = SchemaFiles.of("top.json", "{ 'enum': 'E', 'data': [ 'a' ] }\n{ 'include': 'top.json' }\n");
        assertThatThrownBy(() -> files.load("top.json"))
                .isInstanceOf(SchemaException.class)
                .hasMessage("top.json:2: inclusion loop: top.json -> top.json");
    }

    @Test
    void aMissingIncludedFileIsReportedWhereItIsIncluded() {
        SchemaFiles files = SchemaFiles.of(
                "top.json", "{ 'include': 'sub/a.json' }\n",
                "sub/a.json", "{ 'enum': 'E', 'data': [ 'a' ] }\n\n{ 'include': 'gone.json' }\n");
        assertThatThrownBy(() -> files.load("top.json"))
                .isInstanceOf(SchemaException.class)
                .hasMessage("sub/a.json:3: cannot find included file 'sub/gone.json'");
    }

    @Test
    void includeTakesOnlyAFileName() {
        SchemaFiles files = SchemaFiles.of("top.json", "\n{ 'include': 'a.json', 'if': 'X' }\n", "a.json", "");
        assertThatThrownBy(() -> files.load("top.json"))
                .isInstanceOf(SchemaException.class)
                .hasMessage("top.json:2: 'include' takes one file name and nothing else");
    }

    @Test
    void errorsInsideIncludedFilesNameThatFile() {
        SchemaFiles files = SchemaFiles.of(
                "top.json", "{ 'include': 'sub/bad.json' }\n",
                "sub/bad.json", "{ 'enum': 'E',\n  'data': [ 'a' ] \n  'prefix': 'X' }\n");
        assertThatThrownBy(() -> files.load("top.json"))
                .isInstanceOf(SchemaException.class)
                .hasMessage("sub/bad.json:3: expected ',' or '}', found 'prefix'");
    }
}
