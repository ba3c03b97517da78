package ferry.qapi;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.assertj.core.api.AbstractThrowableAssert;
import org.junit.jupiter.api.Test;

/** Malformed schemas: each fails with a SchemaException that starts with the offending file:line. */
class SchemaErrorTest {

    private static AbstractThrowableAssert<?, ? extends Throwable> loading(String text) {
        return assertThatThrownBy(() -> SchemaFiles.of("bad.json", text).load("bad.json"))
                .isInstanceOf(SchemaException.class);
    }

    @Test
    void unterminatedString() {
        loading("{ 'enum': 'E',\n  'data': [ 'a', 'b ] }\n")
                .hasMessage("bad.json:2: string is not closed by a quote on its line");
    }

    @Test
    void backslashInString() {
        loading("\n{ 'enum': 'E', 'data': [ 'a\\'b' ] }\n")
                .hasMessage("bad.json:2: backslash escapes are not part of the schema language");
    }

    @Test
    void unclosedDocBlockAtEndOfFile() {
        loading("{ 'enum': 'E', 'data': [ 'a' ] }\n##\n# @F: never closed\n#\n")
                .hasMessage("bad.json:2: doc block is not closed by a '##' line");
    }

    @Test
    void unclosedDocBlockAtEndOfFileWithoutNewline() {
        loading("{ 'enum': 'E', 'data': [ 'a' ] }\n\n##\n# @F: never closed")
                .hasMessage("bad.json:3: doc block is not closed by a '##' line");
    }

    @Test
    void docBlockRunningIntoCode() {
        loading("##\n# @F: text\n{ 'enum': 'F', 'data': [ 'a' ] }\n")
                .hasMessage("bad.json:3: doc block line must start with '#'");
    }

    @Test
    void missingComma() {
        loading("{ 'struct': 'S',\n  'data': { 'a': 'int'\n             'b': 'str' } }\n")
                .hasMessage("bad.json:3: expected ',' or '}', found 'b'");
    }

    @Test
    void missingCommaInList() {
        loading("{ 'enum': 'E',\n  'data': [ 'a'\n 'b' ] }\n")
                .hasMessage("bad.json:3: expected ',' or ']', found 'b'");
    }

    @Test
    void missingColon() {
        loading("{ 'enum' 'E' }").hasMessage("bad.json:1: expected ':' after key 'enum', found 'E'");
    }

    @Test
    void strayCharacter() {
        loading("{ 'enum': 'E',\n  'data': [ 1 ] }")
                .hasMessage("bad.json:2: stray character '1' (expected '{', '[', a quoted string, true or false)");
    }

    @Test
    void duplicateKey() {
        loading("{ 'struct': 'S', 'data': {\n  'a': 'int',\n  'a': 'str' } }")
                .hasMessage("bad.json:3: duplicate key 'a'");
    }

    @Test
    void unknownKey() {
        loading("{ 'enum': 'E', 'data': [ 'a' ] }\n{ 'struct': 'S', 'data': {}, 'bogus': true }")
                .hasMessage("bad.json:2: unknown key 'bogus' in struct (expected one of [base, data, features, if, struct])");
    }

    @Test
    void unknownKeyInMemberDict() {
        loading("{ 'struct': 'S', 'data': {\n  'a': { 'type': 'int', 'default': 'x' } } }")
                .hasMessage("bad.json:2: unknown key 'default' in member 'a' (expected 'type', 'if' or 'features')");
    }

    @Test
    void noDefinitionKeyword() {
        loading("\n{ 'strukt': 'S', 'data': {} }")
                .hasMessageStartingWith("bad.json:2: expected one of 'struct', 'enum', 'union', 'alternate', 'command', 'event', 'include', 'pragma'");
    }

    @Test
    void undefinedType() {
        loading("{ 'enum': 'E', 'data': [ 'a' ] }\n\n{ 'struct': 'S', 'data': { 'e': 'E', 'x': [ 'Nope' ] } }")
                .hasMessage("bad.json:3: member 'x' of struct 'S' uses undefined type 'Nope'");
    }

    @Test
    void undefinedReturnType() {
        loading("{ 'command': 'c',\n  'returns': 'Nope' }")
                .hasMessage("bad.json:1: return type of command 'c' uses undefined type 'Nope'");
    }

    @Test
    void commandUsedAsAType() {
        loading("{ 'command': 'c' }\n{ 'struct': 'S', 'data': { 'x': 'c' } }")
                .hasMessage("bad.json:2: member 'x' of struct 'S' uses 'c', which is not a type");
    }

    @Test
    void undefinedBase() {
        loading("{ 'struct': 'S', 'base': 'Nope', 'data': {} }")
                .hasMessage("bad.json:1: base of struct 'S' must name a struct, found 'Nope'");
    }

    @Test
    void duplicateDefinition() {
        SchemaFiles files = SchemaFiles.of(
                "top.json", "{ 'enum': 'E', 'data': [ 'a' ] }\n{ 'include': 'sub/more.json' }\n",
                "sub/more.json", "\n\n{ 'struct': 'E', 'data': {} }\n");
        assertThatThrownBy(() -> files.load("top.json"))
                .isInstanceOf(SchemaException.class)
                .hasMessage("sub/more.json:3: 'E' is already defined at top.json:1");
    }

    @Test
    void duplicateMemberViaOptionalSpelling() {
        loading("\n{ 'struct': 'S', 'data': { 'a': 'int', '*a': 'str' } }")
                .hasMessage("bad.json:2: struct 'S' has member 'a' twice");
    }

    @Test
    void duplicateMemberWithBase() {
        loading("{ 'struct': 'B', 'data': { 'a': 'int' } }\n{ 'struct': 'S', 'base': 'B', 'data': { 'a': 'str' } }")
                .hasMessage("bad.json:2: struct 'S' has member 'a' twice");
    }

    @Test
    void duplicateEnumValue() {
        loading("\n\n{ 'enum': 'E', 'data': [ 'a', { 'name': 'a' } ] }")
                .hasMessage("bad.json:3: enum 'E' lists 'a' twice");
    }

    private static final String UNION_TYPES = """
            { 'enum': 'K', 'data': [ 'one', 'two' ] }
            { 'struct': 'One', 'data': { 'x': 'int' } }
            """;

    @Test
    void unionDiscriminatorNotInBase() {
        loading(UNION_TYPES + "{ 'union': 'U', 'base': { 'k': 'K' }, 'discriminator': 'kind',\n  'data': { 'one': 'One' } }")
                .hasMessage("bad.json:3: discriminator 'kind' of union 'U' is not a member of its base");
    }

    @Test
    void unionDiscriminatorNotAnEnum() {
        loading(UNION_TYPES + "{ 'union': 'U', 'base': { 'k': 'str' }, 'discriminator': 'k', 'data': {} }")
                .hasMessage("bad.json:3: discriminator 'k' of union 'U' must be a required member of enum type");
    }

    @Test
    void unionDiscriminatorOptional() {
        loading(UNION_TYPES + "{ 'union': 'U', 'base': { '*k': 'K' }, 'discriminator': 'k', 'data': {} }")
                .hasMessage("bad.json:3: discriminator 'k' of union 'U' must be a required member of enum type");
    }

    @Test
    void unionBranchNotAnEnumValue() {
        loading(UNION_TYPES + "\n{ 'union': 'U', 'base': { 'k': 'K' }, 'discriminator': 'k',\n  'data': { 'three': 'One' } }")
                .hasMessage("bad.json:4: branch 'three' of union 'U' is not a value of enum 'K'");
    }

    @Test
    void unionBranchNotAStruct() {
        loading(UNION_TYPES + "{ 'union': 'U', 'base': { 'k': 'K' }, 'discriminator': 'k', 'data': { 'one': 'K' } }")
                .hasMessage("bad.json:3: branch 'one' of union 'U' must name a struct or union, found 'K'");
    }

    @Test
    void unionWithoutBase() {
        loading(UNION_TYPES + "{ 'union': 'U', 'discriminator': 'k', 'data': {} }")
                .hasMessage("bad.json:3: union 'U' needs 'base': a struct name or a dict of members");
    }

    @Test
    void unionNamedBaseNotAStruct() {
        loading(UNION_TYPES + "{ 'union': 'U', 'base': 'K', 'discriminator': 'k', 'data': {} }")
                .hasMessage("bad.json:3: base of union 'U' must name a struct, found 'K'");
    }

    @Test
    void badIfUnknownOperator() {
        loading("{ 'enum': 'E', 'data': [ 'a' ],\n  'if': { 'either': [ 'A' ] } }")
                .hasMessage("bad.json:1: 'if' must be a string or a dict with one of 'all', 'any', 'not'");
    }

    @Test
    void badIfEmptyAll() {
        loading("{ 'enum': 'E', 'data': [ 'a' ], 'if': { 'all': [] } }")
                .hasMessage("bad.json:1: 'all' needs a non-empty list of conditions");
    }

    @Test
    void badIfTwoOperators() {
        loading("{ 'enum': 'E', 'data': [ 'a' ], 'if': { 'not': 'A', 'any': [ 'B' ] } }")
                .hasMessage("bad.json:1: 'if' must be a string or a dict with one of 'all', 'any', 'not'");
    }

    @Test
    void badIfNestedInMember() {
        loading("{ 'struct': 'S', 'data': {\n  'a': { 'type': 'int', 'if': { 'not': true } } } }")
                .hasMessage("bad.json:2: 'if' must be a string or a dict with one of 'all', 'any', 'not'");
    }

    @Test
    void nonBooleanFlag() {
        loading("{ 'struct': 'S', 'data': {} }\n{ 'command': 'c', 'data': 'S', 'boxed': 'yes' }")
                .hasMessage("bad.json:2: 'boxed' must be true or false, found 'yes'");
    }

    @Test
    void nonBooleanAllowOob() {
        loading("\n{ 'command': 'c', 'allow-oob': [ 'true' ] }")
                .hasMessage("bad.json:2: 'allow-oob' must be true or false, found a list");
    }

    @Test
    void boxedWithInlineData() {
        loading("{ 'command': 'c', 'data': { 'a': 'int' }, 'boxed': true }")
                .hasMessage("bad.json:1: command 'c' is 'boxed' but its data is not a type name");
    }

    @Test
    void includeOfMissingFile() {
        loading("{ 'enum': 'E', 'data': [ 'a' ] }\n{ 'include': 'missing.json' }")
                .hasMessage("bad.json:2: cannot find included file 'missing.json'");
    }

    @Test
    void trailingGarbageAfterExpression() {
        loading("{ 'enum': 'E', 'data': [ 'a' ] }\n\n}")
                .hasMessage("bad.json:3: expected '{' to start a top-level expression, found '}'");
    }

    @Test
    void trailingStringAfterExpression() {
        loading("{ 'enum': 'E', 'data': [ 'a' ] } 'oops'")
                .hasMessage("bad.json:1: expected '{' to start a top-level expression, found 'oops'");
    }

    @Test
    void unclosedDict() {
        loading("{ 'enum': 'E',\n  'data': [ 'a' ]\n")
                .hasMessage("bad.json:3: expected ',' or '}', found end of file");
    }

    @Test
    void badTypeReference() {
        loading("{ 'struct': 'S', 'data': { 'a': [ 'int', 'str' ] } }")
                .hasMessage("bad.json:1: expected a type name or a one-element array ['Type'], found a list");
    }

    @Test
    void enumDataNotAList() {
        loading("{ 'enum': 'E', 'data': { 'a': 'b' } }")
                .hasMessage("bad.json:1: enum 'data' must be a list of values");
    }

    @Test
    void structBaseLoop() {
        loading("{ 'struct': 'A', 'base': 'B', 'data': {} }\n{ 'struct': 'B', 'base': 'A', 'data': {} }")
                .hasMessage("bad.json:1: struct 'A' has a base loop: A -> B -> A");
    }

    @Test
    void baseLoopNotThroughTheStructItself() {
        loading("{ 'struct': 'C', 'base': 'A', 'data': {} }\n{ 'struct': 'A', 'base': 'B', 'data': {} }\n"
                + "{ 'struct': 'B', 'base': 'A', 'data': {} }")
                .hasMessage("bad.json:1: struct 'C' has a base loop: C -> A -> B -> A");
    }

    @Test
    void undefinedBaseOfABaseIsReportedWhereverItIsMet() {
        // C is checked first and reaches B's bad base through its own base
        loading("{ 'struct': 'C', 'base': 'B', 'data': {} }\n{ 'struct': 'B', 'base': 'Nope', 'data': {} }")
                .hasMessage("bad.json:2: base of struct 'B' must name a struct, found 'Nope'");
    }

    @Test
    void enumAsBaseOfABaseOfAUnion() {
        loading(UNION_TYPES + "{ 'union': 'U', 'base': 'B', 'discriminator': 'k', 'data': {} }\n"
                + "{ 'struct': 'B', 'base': 'K', 'data': { 'k': 'K' } }")
                .hasMessage("bad.json:4: base of struct 'B' must name a struct, found 'K'");
    }
}
