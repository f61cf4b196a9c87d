package dev.procq.security;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * SQL is only ever written as constant text with bound parameters: a scan of the main sources.
 * Outside {@code store/} there is no SQL text and no statement is built; inside it, SQL text is
 * joined only with other constants (never a variable, String.format, formatted() or a
 * StringBuilder), so no value a client sends can become part of a statement.
 */
class BoundParametersTest {
    static final Path MAIN = Path.of("src", "main", "java");
    static final Pattern SQL_TEXT = Pattern.compile(
            "^\\s*(SELECT|INSERT|UPDATE|DELETE|WITH|COPY|LISTEN|NOTIFY|CREATE|ALTER|DROP|GRANT|REVOKE|TRUNCATE|SET|VALUES|FROM|WHERE)\\s");
    static final Pattern STATEMENT_CALL = Pattern.compile(
            "\\.(createQuery|createUpdate|createScript|createCall|select|prepareStatement|prepareCall|executeQuery|executeUpdate|addBatch|copyIn)\\s*\\(");
    static final Pattern SQL_ANNOTATION = Pattern.compile("@Sql(Query|Update|Batch|Script|Call)\\b");
    static final Pattern CONSTANT = Pattern.compile("^([A-Z][A-Za-z0-9]*\\.)*[A-Z][A-Z0-9_]*$");

    @Test
    void mainSourcesBuildSqlOnlyFromConstants() throws IOException {
        List<String> problems = new ArrayList<>();
        try (Stream<Path> files = Files.walk(MAIN)) {
            files.filter(file -> file.toString().endsWith(".java")).sorted().forEach(file -> {
                boolean store = file.startsWith(MAIN.resolve(Path.of("dev", "procq", "store")));
                problems.addAll(check(MAIN.relativize(file).toString(), read(file), store));
            });
        }
        assertThat(problems).isEmpty();
    }

    @Test
    void scanCatchesSplicedValues() {
        String spliced = """
                class Bad {
                    void find(org.jdbi.v3.core.Handle handle, String id) {
                        handle.createQuery("SELECT * FROM procq.job WHERE id = " + id).mapToMap().list();
                        handle.execute(\"""
                            DELETE FROM procq.batch WHERE type = '%s'\""".formatted(id));
                        new StringBuilder().append("UPDATE procq.job SET state = ").append(id);
                    }
                }
                """;
        assertThat(check("store/Bad.java", spliced, true)).hasSize(3);
        assertThat(check("api/Bad.java", spliced, false)).hasSizeGreaterThanOrEqualTo(3);
        String bound = """
                interface Good {
                    String COLUMNS = "id, state";
                    @SqlQuery("SELECT " + COLUMNS + " FROM procq.job WHERE id = :id")  // a comment with "SELECT " + x
                    Row find(@Bind("id") long id);
                }
                """;
        assertThat(check("store/Good.java", bound, true)).isEmpty();
        assertThat(check("api/Good.java", bound, false)).isNotEmpty();
    }

    /** Problems in one source file, as "file:line: what". */
    static List<String> check(String name, String source, boolean store) {
        Lexed lexed = Lexed.of(source);
        List<String> problems = new ArrayList<>();
        for (int i = 0; i < lexed.literals.size(); i++) {
            Literal literal = lexed.literals.get(i);
            if (!SQL_TEXT.matcher(literal.text).find()) continue;
            String where = name + ":" + lineOf(source, literal.sourceOffset) + ": ";
            if (!store) {
                problems.add(where + "SQL text outside store/");
                continue;
            }
            String placeholder = Lexed.placeholder(i);
            int at = lexed.code.indexOf(placeholder);
            String before = lexed.code.substring(0, at);
            String after = lexed.code.substring(at + placeholder.length());
            for (String operand : joinedOperands(before, after)) {
                if (!operand.matches("§\\d+§") && !CONSTANT.matcher(operand).matches()) {
                    problems.add(where + "SQL text joined with '" + operand + "'");
                }
            }
            if (after.stripLeading().startsWith(".formatted(") || before.stripTrailing().endsWith("String.format(")) {
                problems.add(where + "SQL text formatted with values");
            }
            if (before.stripTrailing().endsWith(".append(")) problems.add(where + "SQL text built in a StringBuilder");
        }
        if (!store) {
            Matcher call = STATEMENT_CALL.matcher(lexed.code);
            while (call.find()) {
                problems.add(name + ":" + lineOf(source, lexed.sourceOffset(call.start())) + ": statement built outside store/: " + call.group(1));
            }
            Matcher annotation = SQL_ANNOTATION.matcher(lexed.code);
            while (annotation.find()) {
                problems.add(name + ":" + lineOf(source, lexed.sourceOffset(annotation.start())) + ": SQL annotation outside store/");
            }
        }
        return problems;
    }

    /** The operands joined by '+' to the left and right of a literal, as source text. */
    static List<String> joinedOperands(String before, String after) {
        List<String> operands = new ArrayList<>();
        Matcher right = Pattern.compile("^\\s*\\+\\s*([A-Za-z_][A-Za-z0-9_.]*(\\([^()]*\\))?|§\\d+§)").matcher(after);
        while (right.find()) {
            operands.add(right.group(1));
            after = after.substring(right.end());
            right = Pattern.compile("^\\s*\\+\\s*([A-Za-z_][A-Za-z0-9_.]*(\\([^()]*\\))?|§\\d+§)").matcher(after);
        }
        Matcher left = Pattern.compile("([A-Za-z_][A-Za-z0-9_.]*(\\([^()]*\\))?|§\\d+§)\\s*\\+\\s*$").matcher(before);
        while (left.find()) {
            operands.add(left.group(1));
            before = before.substring(0, left.start());
            left = Pattern.compile("([A-Za-z_][A-Za-z0-9_.]*(\\([^()]*\\))?|§\\d+§)\\s*\\+\\s*$").matcher(before);
        }
        return operands;
    }

    static int lineOf(String source, int offset) {
        int line = 1;
        for (int i = 0; i < offset && i < source.length(); i++) if (source.charAt(i) == '\n') line++;
        return line;
    }

    record Literal(String text, int sourceOffset) {
    }

    /** Java source with comments removed and every string literal or text block replaced by §n§. */
    static final class Lexed {
        final StringBuilder codeBuilder = new StringBuilder();
        final List<Integer> codeToSource = new ArrayList<>();
        final List<Literal> literals = new ArrayList<>();
        String code;

        static String placeholder(int index) {
            return "§" + index + "§";
        }

        int sourceOffset(int codeOffset) {
            return codeToSource.get(Math.min(codeOffset, codeToSource.size() - 1));
        }

        private void emit(String text, int sourceOffset) {
            for (int k = 0; k < text.length(); k++) {
                codeBuilder.append(text.charAt(k));
                codeToSource.add(sourceOffset);
            }
        }

        static Lexed of(String source) {
            Lexed lexed = new Lexed();
            int i = 0;
            int n = source.length();
            while (i < n) {
                char c = source.charAt(i);
                if (source.startsWith("//", i)) {
                    int end = source.indexOf('\n', i);
                    i = end < 0 ? n : end;
                } else if (source.startsWith("/*", i)) {
                    int end = source.indexOf("*/", i + 2);
                    i = end < 0 ? n : end + 2;
                } else if (source.startsWith("\"\"\"", i)) {
                    int end = source.indexOf("\"\"\"", i + 3);
                    while (end > 0 && source.charAt(end - 1) == '\\') end = source.indexOf("\"\"\"", end + 1);
                    int contentStart = source.indexOf('\n', i) + 1;
                    lexed.add(source.substring(contentStart, end), i);
                    i = end + 3;
                } else if (c == '"') {
                    int j = i + 1;
                    StringBuilder text = new StringBuilder();
                    while (j < n && source.charAt(j) != '"') {
                        if (source.charAt(j) == '\\') j++;
                        text.append(source.charAt(j));
                        j++;
                    }
                    lexed.add(text.toString(), i);
                    i = j + 1;
                } else if (c == '\'') {
                    int j = i + 1;
                    while (j < n && source.charAt(j) != '\'') {
                        if (source.charAt(j) == '\\') j++;
                        j++;
                    }
                    lexed.emit(source.substring(i, j + 1), i);
                    i = j + 1;
                } else {
                    lexed.emit(String.valueOf(c), i);
                    i++;
                }
            }
            lexed.code = lexed.codeBuilder.toString();
            return lexed;
        }

        private void add(String text, int sourceOffset) {
            emit(placeholder(literals.size()), sourceOffset);
            literals.add(new Literal(text, sourceOffset));
        }
    }

    private static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
