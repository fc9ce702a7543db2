/*
 * Procedures that graphflows' own local server adds to Neo4j (registered by GraphflowsNeo4j at start).
 *
 * graphflows.v2.createFlows(batch) creates one (payer)-[:FLOWS_TO]->(payee) relationship per row of a batch
 * sent as columns (a map of equal-length lists), storing for the batches the loader sends (flow_batch in
 * loader.py) exactly what the loader's Cypher CREATE query stores: no per-row Cypher interpretation, and
 * each distinct node looked up once per batch (measured: up to about 20 % faster than Cypher with two
 * batches in flight; see benchmarks/README.md). Stricter than the Cypher: a missing node, a null flow_id or
 * amount_minor, or a date that is not ISO text rejects the whole batch. It only CREATEs, like the query it
 * stands in for; a retried batch and a reload use the loader's Cypher MERGE, portable to any Neo4j. The
 * version in its name changes whenever what it stores changes (v2: the optional column "extras", a map per
 * row of extra input columns, set on each relationship as Cypher's SET f += map does).
 *
 * Example: CALL graphflows.v2.createFlows({payer: ['A'], payee: ['B'], flow_id: ['f1'], amount_minor: [100],
 *          currency: ['GBP'], date: ['2024-04-01'], stream_id: [null], reference: [null],
 *          source: ['x.csv'], line: ['2']}) YIELD flows
 */

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.neo4j.cli.AdminTool;
import org.neo4j.cli.ExecutionContext;
import org.neo4j.dbms.database.DatabaseContext;
import org.neo4j.dbms.database.DatabaseContextProvider;
import org.neo4j.graphdb.Label;
import org.neo4j.graphdb.Node;
import org.neo4j.graphdb.Relationship;
import org.neo4j.graphdb.RelationshipType;
import org.neo4j.graphdb.Transaction;
import org.neo4j.io.fs.DefaultFileSystemAbstraction;
import org.neo4j.kernel.database.AbstractDatabase;
import org.neo4j.kernel.internal.GraphDatabaseAPI;
import org.neo4j.procedure.Context;
import org.neo4j.procedure.Description;
import org.neo4j.procedure.Mode;
import org.neo4j.procedure.Name;
import org.neo4j.procedure.Procedure;

public final class GraphflowsProcedures {
    private static final String NAME = "graphflows.v2.createFlows";
    private static final Label ENTITY = Label.label("Entity");
    private static final RelationshipType FLOWS_TO = RelationshipType.withName("FLOWS_TO");
    /** Text properties copied as they are (null values are left unset, as Cypher's SET does). */
    private static final String[] TEXT = {"currency", "stream_id", "reference", "source", "line"};

    @Context
    public Transaction tx;

    @Context
    public GraphDatabaseAPI api;

    /** The folder (in the server's home) where graphflows' bulk load stages a new store (bulk.py STAGE). */
    private static final String STAGE = "bulk-import";

    /** Output of swapStore: what was scheduled. */
    public static final class Scheduled {
        public String stage;

        public Scheduled(String stage) {
            this.stage = stage;
        }
    }

    /** One output row: how many relationships the batch created. */
    public static final class Created {
        public long flows;

        public Created(long flows) {
            this.flows = flows;
        }
    }

    @Procedure(name = "graphflows.v2.createFlows", mode = Mode.WRITE)
    @Description("graphflows' fast first load: create one FLOWS_TO relationship per row of a column batch.")
    public Stream<Created> createFlows(@Name("batch") Map<String, Object> batch) {
        List<?> payer = column(batch, "payer");
        List<?> payee = column(batch, "payee");
        List<?> flowId = column(batch, "flow_id");
        List<?> amount = column(batch, "amount_minor");
        List<?> date = column(batch, "date");
        List<?>[] text = new List<?>[TEXT.length];
        for (int t = 0; t < TEXT.length; t++) {
            text[t] = column(batch, TEXT[t]);
        }
        int rows = payer.size();
        for (List<?> c : List.of(payee, flowId, amount, date)) {
            sameLength(c, rows);
        }
        for (List<?> c : text) {
            sameLength(c, rows);
        }
        List<?> extras = batch.get("extras") == null ? null : column(batch, "extras");
        if (extras != null) {
            sameLength(extras, rows);
        }
        Map<Object, Node> nodes = new HashMap<>();
        for (int i = 0; i < rows; i++) {
            Node from = node(nodes, payer.get(i));
            Node to = node(nodes, payee.get(i));
            Relationship flow = from.createRelationshipTo(to, FLOWS_TO);
            flow.setProperty("flow_id", required(flowId.get(i), "flow_id"));
            long minor = ((Number) required(amount.get(i), "amount_minor")).longValue();
            flow.setProperty("amount_minor", minor);
            flow.setProperty("amount", (double) minor / 100.0);
            Object day = date.get(i);
            if (day != null) {
                flow.setProperty("date", LocalDate.parse((String) day));
            }
            for (int t = 0; t < TEXT.length; t++) {
                Object value = text[t].get(i);
                if (value != null) {
                    flow.setProperty(TEXT[t], value);
                }
            }
            if (extras != null && extras.get(i) instanceof Map<?, ?> more) {
                for (Map.Entry<?, ?> entry : more.entrySet()) {
                    if (entry.getValue() != null) {
                        flow.setProperty((String) entry.getKey(), property(entry.getValue()));
                    }
                }
            }
        }
        return Stream.of(new Created(rows));
    }

    /**
     * graphflows.v1.swapStore(): put the store that Neo4j's importer built in the home's bulk-import folder in
     * place of the default database's, without restarting the server (Community cannot STOP DATABASE). Runs
     * after the calling transaction ended, on its own thread: stops the database, swaps the store and
     * transaction-log folders (the old ones go to bulk-import/old), starts the database again, and writes
     * bulk-import/swap.done (or swap.failed with the reason). The users and their passwords (the system
     * database) are untouched. Only graphflows' own server has it (a plugin, unrestricted).
     */
    @Procedure(name = "graphflows.v1.swapStore", mode = Mode.DBMS)
    @Description("graphflows' bulk load: swap in the store staged in <home>/bulk-import, restarting the database.")
    public Stream<Scheduled> swapStore() {
        Path stage = stage("graphflows.v1.swapStore");
        if (!staged(stage)) {
            throw new IllegalStateException("graphflows.v1.swapStore: no staged store in " + stage);
        }
        AbstractDatabase database = database();
        Path store = api.databaseLayout().databaseDirectory();
        Path logs = api.databaseLayout().getTransactionLogsDirectory();
        Thread worker = new Thread(
                () -> {
                    try {
                        Thread.sleep(200); // let the calling transaction close
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    swap(database, stage, store, logs);
                },
                "graphflows-swap-store");
        worker.setDaemon(false);
        worker.start();
        return Stream.of(new Scheduled(stage.toString()));
    }

    /**
     * graphflows.v1.importStore(): run Neo4j's importer ({@code neo4j-admin database import full}, whose classes
     * are on this server's class path) inside this JVM with the arguments in bulk-import/import.args (one a
     * line; its home, with the configuration that points it at the staging folder, is bulk-import/home), then
     * swap the new store in as swapStore does. A separate importer JVM would spend seconds starting and loading
     * classes this one has loaded. Runs after the calling transaction ended, on its own thread, and writes
     * bulk-import/import.done (or import.failed with the reason; the importer's output goes to import.out), then
     * swap.done or swap.failed. The arguments come from a file in the data folder, which only its owner can
     * write: a caller cannot pass any.
     */
    @Procedure(name = "graphflows.v1.importStore", mode = Mode.DBMS)
    @Description("graphflows' bulk load: import <home>/bulk-import/import.args in this JVM, then swap the store in.")
    public Stream<Scheduled> importStore() throws IOException {
        Path stage = stage("graphflows.v1.importStore");
        List<String> arguments = Files.readAllLines(stage.resolve("import.args"), StandardCharsets.UTF_8);
        AbstractDatabase database = database();
        Path store = api.databaseLayout().databaseDirectory();
        Path logs = api.databaseLayout().getTransactionLogsDirectory();
        Thread worker = new Thread(
                () -> {
                    if (runImporter(stage, arguments)) {
                        swap(database, stage, store, logs);
                    }
                },
                "graphflows-import-store");
        worker.setDaemon(false);
        worker.start();
        return Stream.of(new Scheduled(stage.toString()));
    }

    private static Path stage(String procedure) {
        String home = System.getProperty("graphflows.home");
        if (home == null) {
            throw new IllegalStateException(procedure + ": not graphflows' own server");
        }
        return Path.of(home).resolve(STAGE);
    }

    private static boolean staged(Path stage) {
        for (String part : new String[] {"databases", "transactions"}) {
            if (!Files.isDirectory(stage.resolve("data").resolve(part).resolve("neo4j"))) {
                return false;
            }
        }
        return true;
    }

    private AbstractDatabase database() {
        DatabaseContextProvider<?> provider = api.getDependencyResolver().resolveDependency(DatabaseContextProvider.class);
        DatabaseContext context = provider.getDatabaseContext(api.databaseName()).orElseThrow();
        return context.database();
    }

    /** Run the importer with {@code arguments}; writes import.done or import.failed and says whether it worked. */
    private static boolean runImporter(Path stage, List<String> arguments) {
        String outcome = "import.done";
        String message = "ok\n";
        Path home = stage.resolve("home");
        try (PrintStream out = new PrintStream(Files.newOutputStream(stage.resolve("import.out")), true, StandardCharsets.UTF_8);
             DefaultFileSystemAbstraction fs = new DefaultFileSystemAbstraction()) {
            ExecutionContext context = new ExecutionContext(home, home.resolve("conf"), out, out, fs);
            int status = AdminTool.execute(context, arguments.toArray(new String[0]));
            if (status != 0) {
                outcome = "import.failed";
                message = "exit status " + status + "\n";
            } else if (!staged(stage)) {
                outcome = "import.failed";
                message = "the importer left no store in " + stage + "\n";
            }
        } catch (Throwable e) {
            outcome = "import.failed";
            message = e + "\n";
        }
        return report(stage, outcome, message) && outcome.equals("import.done");
    }

    private static void swap(AbstractDatabase database, Path stage, Path store, Path logs) {
        String outcome = "swap.done";
        String message = "ok\n";
        try {
            database.stop();
            try {
                move(store, stage.resolve("old").resolve("databases"));
                move(logs, stage.resolve("old").resolve("transactions"));
                move(stage.resolve("data").resolve("databases").resolve("neo4j"), store);
                move(stage.resolve("data").resolve("transactions").resolve("neo4j"), logs);
            } finally {
                database.start();
            }
        } catch (Throwable e) {
            outcome = "swap.failed";
            message = e + "\n";
        }
        report(stage, outcome, message);
    }

    /** Write bulk-import/OUTCOME (what the caller polls for); false if it could not (the caller times out). */
    private static boolean report(Path stage, String outcome, String message) {
        try {
            Files.writeString(stage.resolve(outcome), message, StandardCharsets.UTF_8);
            return true;
        } catch (IOException ignored) {
            return false;
        }
    }

    private static void move(Path from, Path to) throws IOException {
        Files.createDirectories(to.getParent());
        Files.move(from, to);
    }

    private Node node(Map<Object, Node> nodes, Object id) {
        Node node = nodes.get(id);
        if (node == null) {
            node = tx.findNode(ENTITY, "id", required(id, "payer/payee"));
            if (node == null) {
                throw new IllegalArgumentException(NAME + ": no Entity node with id " + id);
            }
            nodes.put(id, node);
        }
        return node;
    }

    /** A value as Neo4j stores it: lists of text become arrays (as Cypher stores lists); others as they are. */
    private static Object property(Object value) {
        if (value instanceof List<?> list && list.stream().allMatch(String.class::isInstance)) {
            return list.toArray(new String[0]);
        }
        return value;
    }

    private static List<?> column(Map<String, Object> batch, String name) {
        Object value = batch.get(name);
        if (!(value instanceof List<?> list)) {
            throw new IllegalArgumentException(NAME + ": column " + name + " is missing");
        }
        return list;
    }

    private static void sameLength(List<?> column, int rows) {
        if (column.size() != rows) {
            throw new IllegalArgumentException(NAME + ": columns differ in length");
        }
    }

    private static Object required(Object value, String name) {
        if (value == null) {
            throw new IllegalArgumentException(NAME + ": " + name + " is null");
        }
        return value;
    }
}
