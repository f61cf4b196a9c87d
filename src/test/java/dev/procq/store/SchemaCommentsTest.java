package dev.procq.store;

import static org.assertj.core.api.Assertions.assertThat;

import dev.procq.testing.PostgresExtension;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Every table, view, column and function in schema procq explains itself in psql's \d+. */
class SchemaCommentsTest {
    @RegisterExtension
    static final PostgresExtension postgres = new PostgresExtension();

    List<String> query(String sql) {
        return postgres.database().jdbi().withHandle(handle -> handle.createQuery(sql).mapTo(String.class).list());
    }

    @Test
    void everyTableAndViewHasAComment() {
        List<String> uncommented = query("""
                SELECT c.relname || ' (' || CASE c.relkind WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view'
                                                           ELSE 'table' END || ')'
                  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE n.nspname = 'procq' AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
                   AND obj_description(c.oid, 'pg_class') IS NULL
                 ORDER BY 1""");

        assertThat(uncommented).as("tables and views without COMMENT ON").isEmpty();
    }

    @Test
    void everyColumnOfEveryTableAndViewHasAComment() {
        List<String> uncommented = query("""
                SELECT c.relname || '.' || a.attname
                  FROM pg_class c
                  JOIN pg_namespace n ON n.oid = c.relnamespace
                  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                 WHERE n.nspname = 'procq' AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
                   AND col_description(c.oid, a.attnum) IS NULL
                 ORDER BY 1""");

        assertThat(uncommented).as("columns without COMMENT ON COLUMN").isEmpty();
    }

    @Test
    void everyFunctionAndTheSchemaHaveAComment() {
        List<String> uncommented = query("""
                SELECT p.proname || '()' FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                 WHERE n.nspname = 'procq' AND obj_description(p.oid, 'pg_proc') IS NULL
                UNION ALL
                SELECT 'schema procq' FROM pg_namespace n
                 WHERE n.nspname = 'procq' AND obj_description(n.oid, 'pg_namespace') IS NULL""");

        assertThat(uncommented).isEmpty();
    }

    @Test
    void theCheckSeesEveryRelation() {
        // Guards the queries above against matching nothing at all.
        List<String> relations = query("""
                SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE n.nspname = 'procq' AND c.relkind IN ('r', 'v') ORDER BY 1""");

        assertThat(relations).contains("batch", "job", "job_attempt", "job_type", "worker",
                "batch_progress", "recent_failures", "stuck_jobs");
    }
}
