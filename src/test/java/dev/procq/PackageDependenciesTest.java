package dev.procq;

import static com.tngtech.archunit.base.DescribedPredicate.not;
import static com.tngtech.archunit.core.domain.JavaCall.Predicates.target;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.assignableTo;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAPackage;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAnyPackage;
import static com.tngtech.archunit.core.domain.properties.HasName.Predicates.nameMatching;
import static com.tngtech.archunit.core.domain.properties.HasOwner.Predicates.With.owner;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.Architectures.layeredArchitecture;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import java.sql.SQLException;
import org.jdbi.v3.core.Handle;
import org.junit.jupiter.api.Test;

/**
 * The package rules, read from the compiled main classes. Every rule must see classes (ArchUnit's
 * default: a rule that checks nothing fails, and so does an empty layer), so a renamed package
 * cannot make a rule pass by matching nothing.
 */
class PackageDependenciesTest {
    private static final String STORE = "dev.procq.store..";
    private static final JavaClasses MAIN = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages("dev.procq");

    /**
     * Dependencies point one way: api -> schedule -> intake -> store, worker -> pool and store, everything ->
     * config; pool and metrics stand alone, the CLI speaks only HTTP (and gets its streams through
     * cli.ClientRoot, not from Main), and only the root package
     * (Main and the server commands) wires the others together. Each layer names who may use it,
     * which fixes the whole graph.
     */
    @Test
    void dependenciesPointOneWay() {
        layeredArchitecture()
                .consideringOnlyDependenciesInLayers()
                .layer("root").definedBy("dev.procq")
                .layer("cli").definedBy("dev.procq.cli..")
                .layer("api").definedBy("dev.procq.api..")
                .layer("intake").definedBy("dev.procq.intake..")
                .layer("schedule").definedBy("dev.procq.schedule..")
                .layer("worker").definedBy("dev.procq.worker..")
                .layer("pool").definedBy("dev.procq.pool..")
                .layer("webhook").definedBy("dev.procq.webhook..")
                .layer("store").definedBy(STORE)
                .layer("metrics").definedBy("dev.procq.metrics..")
                .layer("config").definedBy("dev.procq.config..")
                .whereLayer("root").mayNotBeAccessedByAnyLayer()
                .whereLayer("cli").mayOnlyBeAccessedByLayers("root")
                .whereLayer("api").mayOnlyBeAccessedByLayers("root")
                .whereLayer("worker").mayOnlyBeAccessedByLayers("root")
                .whereLayer("schedule").mayOnlyBeAccessedByLayers("root", "api")
                .whereLayer("intake").mayOnlyBeAccessedByLayers("api", "schedule")
                .whereLayer("pool").mayOnlyBeAccessedByLayers("worker")
                .whereLayer("webhook").mayOnlyBeAccessedByLayers("root")
                .whereLayer("store").mayOnlyBeAccessedByLayers("root", "api", "intake", "schedule", "worker", "webhook")
                .whereLayer("metrics").mayOnlyBeAccessedByLayers("root", "api")
                .whereLayer("config").mayOnlyBeAccessedByLayers("root", "cli", "api", "intake", "schedule", "worker", "store", "webhook")
                .check(MAIN);
    }

    /** The PostgreSQL driver's own API (COPY, LISTEN) is the store's business. */
    @Test
    void postgresDriverOnlyInStore() {
        noClasses()
                .that().resideOutsideOfPackage(STORE)
                .should().dependOnClassesThat().resideInAPackage("org.postgresql..")
                .check(MAIN);
    }

    /** JDBC outside the store is only its exceptions: enough to tell an outage from a bug. */
    @Test
    void jdbcOnlyInStore() {
        noClasses()
                .that().resideOutsideOfPackage(STORE)
                .should().dependOnClassesThat(resideInAPackage("java.sql").and(not(assignableTo(SQLException.class))))
                .check(MAIN);
    }

    /**
     * SQL is written only in the store: elsewhere Jdbi runs a store DAO, in a transaction when
     * several must commit together, and never a statement of its own.
     */
    @Test
    void sqlOnlyInStore() {
        noClasses()
                .that().resideOutsideOfPackage(STORE)
                .should().dependOnClassesThat(resideInAnyPackage("org.jdbi.v3.core.statement..", "org.jdbi.v3.sqlobject.."))
                .orShould().callMethodWhere(target(owner(assignableTo(Handle.class)))
                        .and(target(nameMatching("create.*|prepare.*|execute|select"))))
                .check(MAIN);
    }

    @Test
    void noCatchAllPackages() {
        noClasses()
                .should().resideInAnyPackage("..util..", "..utils..", "..common..", "..manager..", "..helper..", "..helpers..")
                .check(MAIN);
    }
}
