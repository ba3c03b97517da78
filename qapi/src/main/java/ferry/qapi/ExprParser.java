package ferry.qapi;

import ferry.qapi.Lexer.Kind;
import ferry.qapi.Lexer.Token;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Turns tokens into top-level expressions: dicts of strings, booleans, lists and dicts. */
final class ExprParser {
    /** A dict with the line it opened on, so later checks can point at it. */
    record Dict(Map<String, Object> entries, SourcePos pos) {
        Object get(String key) {
            return entries.get(key);
        }
    }

    /** One top-level expression and the doc block just before it, if any. */
    record Expr(Dict dict, String doc) {}

    private final String file;
    private final List<Token> tokens;
    private int i;

    ExprParser(String file, String text) {
        this.file = file;
        this.tokens = new Lexer(file, text).tokens();
    }

    List<Expr> parse() {
        List<Expr> out = new ArrayList<>();
        String doc = null;
        while (peek().kind() != Kind.EOF) {
            Token t = peek();
            if (t.kind() == Kind.DOC) {
                i++;
                doc = t.text();
                continue;
            }
            if (t.kind() != Kind.LBRACE) {
                throw error(t, "expected '{' to start a top-level expression");
            }
            out.add(new Expr(dict(), doc));
            doc = null;
        }
        return out;
    }

    private Token peek() {
        return tokens.get(i);
    }

    private Token take(Kind kind, String what) {
        Token t = tokens.get(i);
        if (t.kind() != kind) {
            throw error(t, "expected " + what);
        }
        i++;
        return t;
    }

    private SchemaException error(Token t, String expected) {
        String found = t.kind() == Kind.EOF ? "end of file" : t.kind() == Kind.DOC ? "a doc block" : "'" + t.text() + "'";
        return new SchemaException(new SourcePos(file, t.line()), expected + ", found " + found);
    }

    private Object value() {
        Token t = peek();
        return switch (t.kind()) {
            case LBRACE -> dict();
            case LBRACKET -> list();
            case STRING -> { i++; yield t.text(); }
            case TRUE -> { i++; yield Boolean.TRUE; }
            case FALSE -> { i++; yield Boolean.FALSE; }
            default -> throw error(t, "expected a value ('{', '[', a quoted string, true or false)");
        };
    }

    private Dict dict() {
        Token open = take(Kind.LBRACE, "'{'");
        Map<String, Object> entries = new LinkedHashMap<>();
        if (peek().kind() == Kind.RBRACE) {
            i++;
            return new Dict(entries, new SourcePos(file, open.line()));
        }
        while (true) {
            Token key = take(Kind.STRING, "a quoted key");
            take(Kind.COLON, "':' after key '" + key.text() + "'");
            if (entries.containsKey(key.text())) {
                throw new SchemaException(new SourcePos(file, key.line()), "duplicate key '" + key.text() + "'");
            }
            entries.put(key.text(), value());
            Token sep = peek();
            if (sep.kind() == Kind.COMMA) {
                i++;
            } else if (sep.kind() == Kind.RBRACE) {
                i++;
                return new Dict(entries, new SourcePos(file, open.line()));
            } else {
                throw error(sep, "expected ',' or '}'");
            }
        }
    }

    private List<Object> list() {
        take(Kind.LBRACKET, "'['");
        List<Object> items = new ArrayList<>();
        if (peek().kind() == Kind.RBRACKET) {
            i++;
            return items;
        }
        while (true) {
            items.add(value());
            Token sep = peek();
            if (sep.kind() == Kind.COMMA) {
                i++;
            } else if (sep.kind() == Kind.RBRACKET) {
                i++;
                return items;
            } else {
                throw error(sep, "expected ',' or ']'");
            }
        }
    }
}
