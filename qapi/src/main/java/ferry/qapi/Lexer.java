package ferry.qapi;

import java.util.ArrayList;
import java.util.List;

/**
 * Splits QAPI schema text into tokens. The language is JSON with single-quoted strings,
 * {@code #} comments, and {@code ##}-delimited doc blocks that belong to the next expression.
 */
final class Lexer {
    enum Kind { LBRACE, RBRACE, LBRACKET, RBRACKET, COLON, COMMA, STRING, TRUE, FALSE, DOC, EOF }

    record Token(Kind kind, String text, int line) {}

    private final String file;
    private final String src;
    private int pos;
    private int line = 1;

    Lexer(String file, String src) {
        this.file = file;
        this.src = src;
    }

    List<Token> tokens() {
        List<Token> out = new ArrayList<>();
        Token t;
        do {
            t = next();
            out.add(t);
        } while (t.kind() != Kind.EOF);
        return out;
    }

    private Token next() {
        while (pos < src.length()) {
            char c = src.charAt(pos);
            if (c == '\n') {
                line++;
                pos++;
            } else if (c == ' ' || c == '\t' || c == '\r') {
                pos++;
            } else if (c == '#') {
                if (src.startsWith("##", pos) && atLineStart()) {
                    return docBlock();
                }
                skipToEol();
            } else {
                break;
            }
        }
        if (pos >= src.length()) {
            return new Token(Kind.EOF, "", line);
        }
        char c = src.charAt(pos);
        int at = line;
        switch (c) {
            case '{': pos++; return new Token(Kind.LBRACE, "{", at);
            case '}': pos++; return new Token(Kind.RBRACE, "}", at);
            case '[': pos++; return new Token(Kind.LBRACKET, "[", at);
            case ']': pos++; return new Token(Kind.RBRACKET, "]", at);
            case ':': pos++; return new Token(Kind.COLON, ":", at);
            case ',': pos++; return new Token(Kind.COMMA, ",", at);
            case '\'': return string();
            default:
                if (src.startsWith("true", pos)) {
                    pos += 4;
                    return new Token(Kind.TRUE, "true", at);
                }
                if (src.startsWith("false", pos)) {
                    pos += 5;
                    return new Token(Kind.FALSE, "false", at);
                }
                throw new SchemaException(new SourcePos(file, line),
                        "stray character '" + c + "' (expected '{', '[', a quoted string, true or false)");
        }
    }

    private boolean atLineStart() {
        int p = pos - 1;
        while (p >= 0 && (src.charAt(p) == ' ' || src.charAt(p) == '\t')) {
            p--;
        }
        return p < 0 || src.charAt(p) == '\n';
    }

    private void skipToEol() {
        while (pos < src.length() && src.charAt(pos) != '\n') {
            pos++;
        }
    }

    /** A doc block: a line "##", then "#" lines, closed by a line "##". */
    private Token docBlock() {
        int start = line;
        skipToEol();
        StringBuilder text = new StringBuilder();
        while (true) {
            if (pos >= src.length()) {
                throw new SchemaException(new SourcePos(file, start), "doc block is not closed by a '##' line");
            }
            pos++; // the newline
            line++;
            while (pos < src.length() && (src.charAt(pos) == ' ' || src.charAt(pos) == '\t')) {
                pos++;
            }
            if (src.startsWith("##", pos)) {
                skipToEol();
                return new Token(Kind.DOC, text.toString().strip(), start);
            }
            if (pos >= src.length()) { // the file ends after a newline
                throw new SchemaException(new SourcePos(file, start), "doc block is not closed by a '##' line");
            }
            if (src.charAt(pos) != '#') {
                throw new SchemaException(new SourcePos(file, line), "doc block line must start with '#'");
            }
            int from = pos + 1;
            skipToEol();
            text.append(src, Math.min(from + (from < src.length() && src.charAt(from) == ' ' ? 1 : 0), pos), pos)
                    .append('\n');
        }
    }

    private Token string() {
        int at = line;
        pos++;
        StringBuilder sb = new StringBuilder();
        while (true) {
            if (pos >= src.length() || src.charAt(pos) == '\n') {
                throw new SchemaException(new SourcePos(file, at), "string is not closed by a quote on its line");
            }
            char c = src.charAt(pos++);
            if (c == '\'') {
                return new Token(Kind.STRING, sb.toString(), at);
            }
            if (c == '\\') {
                throw new SchemaException(new SourcePos(file, at), "backslash escapes are not part of the schema language");
            }
            sb.append(c);
        }
    }
}
