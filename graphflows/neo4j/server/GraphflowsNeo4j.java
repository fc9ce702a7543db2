/*
 * The local Neo4j server graphflows runs for development and tests.
 *
 * Starts Neo4j Community (embedded API) with its Bolt connector on 127.0.0.1:<port>, authentication on (user
 * neo4j, password read from --password-file, never printed), LOAD CSV from file URLs off, usage reporting off,
 * data and logs under <home>; optionally serves the Neo4j Browser web app (static files
 * from the org.neo4j.client:neo4j-browser jar) from the same JVM on 127.0.0.1:<http-port>, with the discovery
 * document the Browser reads at "/". Loads graphflows' own procedures (GraphflowsProcedures) from --plugins DIR.
 * Stops cleanly on SIGTERM, or if anything fails after Neo4j started (shutdown hook).
 *
 * Usage: java -Xmx1g -cp 'lib/*:graphflows-neo4j.jar' GraphflowsNeo4j --home DIR --port 7687
 *            --password-file FILE --plugins DIR [--http-port 7474] [--pagecache 256m]
 * Prints "graphflows-neo4j ready bolt://127.0.0.1:PORT" (and "browser http://...") once started.
 */

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;
import org.neo4j.configuration.Config;
import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;
import org.neo4j.io.fs.DefaultFileSystemAbstraction;
import org.neo4j.kernel.impl.security.User;
import org.neo4j.logging.NullLogProvider;
import org.neo4j.memory.EmptyMemoryTracker;
import org.neo4j.server.security.SecureHasher;
import org.neo4j.server.security.SystemGraphCredential;
import org.neo4j.server.security.auth.CommunitySecurityModule;
import org.neo4j.server.security.auth.FileUserRepository;

public final class GraphflowsNeo4j {
    private static final String NEO4J_VERSION = "5.26";
    private static final String USER = "neo4j";

    public static void main(String[] args) throws Exception {
        Map<String, String> opts = parse(args);
        Path home = Path.of(required(opts, "--home")).toAbsolutePath();
        int port = Integer.parseInt(required(opts, "--port"));
        int httpPort = Integer.parseInt(opts.getOrDefault("--http-port", "0"));
        String pagecache = opts.getOrDefault("--pagecache", "256m");
        String plugins = required(opts, "--plugins");
        String password = Files.readString(Path.of(required(opts, "--password-file"))).strip();
        if (password.length() < 8) {
            System.err.println("graphflows-neo4j: the password file holds fewer than 8 characters");
            System.exit(2);
        }

        Map<String, String> config = new LinkedHashMap<>();
        config.put("server.bolt.enabled", "true");
        config.put("server.bolt.listen_address", "127.0.0.1:" + port);
        config.put("server.bolt.advertised_address", "127.0.0.1:" + port);
        config.put("server.http.enabled", "false");
        config.put("server.https.enabled", "false");
        config.put("dbms.security.auth_enabled", "true");
        config.put("dbms.security.allow_csv_import_from_file_urls", "false");
        config.put("dbms.usage_report.enabled", "false");
        config.put("client.allow_telemetry", "false");
        config.put("server.memory.pagecache.size", pagecache);
        config.put("db.tx_log.rotation.retention_policy", "2 files");
        config.put("server.directories.data", home.resolve("data").toString());
        config.put("server.directories.logs", home.resolve("logs").toString());
        // graphflows' procedures as a plugin: registered while Neo4j starts, before Bolt accepts a client
        config.put("server.directories.plugins", plugins);
        // graphflows.v1.swapStore (the bulk load) reaches the database manager: needs an unrestricted plugin
        // (and Graph Data Science, when started with --gds, needs the same)
        config.put("dbms.security.procedures.unrestricted", "graphflows.*,gds.*");
        System.setProperty("graphflows.home", home.toString());

        StringBuilder conf = new StringBuilder("# written by graphflows at each start\n");
        config.forEach((key, value) -> conf.append(key).append('=').append(value).append('\n'));
        Path confFile = home.resolve("graphflows-neo4j.conf");
        Files.createDirectories(home);
        Files.writeString(confFile, conf.toString(), StandardCharsets.UTF_8);
        Path systemStore = home.resolve("data").resolve("databases").resolve("system");
        boolean fresh = !Files.exists(systemStore);
        Path initialUsers = fresh ? writeInitialPassword(home, password) : null;  // before Bolt listens
        DatabaseManagementService dbms =
                new DatabaseManagementServiceBuilder(home).loadPropertiesFromFile(confFile).build();
        CountDownLatch stopped = new CountDownLatch(1);
        AtomicReference<HttpServer> http = new AtomicReference<>();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            if (http.get() != null) {
                http.get().stop(0);
            }
            dbms.shutdown();
            stopped.countDown();
        }, "graphflows-neo4j-shutdown"));
        if (fresh) {
            Files.deleteIfExists(initialUsers);  // read once, when the system database was created
        } else {
            setPassword(dbms, password);  // a folder from before authentication, or a new password file
        }
        if (httpPort > 0) {
            http.set(serveBrowser(httpPort, port));
        }

        System.out.println("graphflows-neo4j ready bolt://127.0.0.1:" + port);
        if (http.get() != null) {
            System.out.println("graphflows-neo4j browser http://127.0.0.1:" + httpPort + "/browser/");
        }
        System.out.flush();
        stopped.await();
    }

    /** The initial user file Neo4j reads when it creates the system database (like `neo4j-admin dbms
     *  set-initial-password`): user neo4j with this password, no change required. */
    private static Path writeInitialPassword(Path home, String password) throws Exception {
        Config config = Config.newBuilder()
                .set(GraphDatabaseSettings.neo4j_home, home)
                .set(GraphDatabaseSettings.data_directory, home.resolve("data"))
                .build();
        Path file = CommunitySecurityModule.getInitialUserRepositoryFile(config);
        try (DefaultFileSystemAbstraction fs = new DefaultFileSystemAbstraction()) {
            fs.deleteFile(file);
            fs.mkdirs(file.getParent());
            FileUserRepository users =
                    new FileUserRepository(fs, file, NullLogProvider.getInstance(), EmptyMemoryTracker.INSTANCE);
            users.start();
            SystemGraphCredential credential = SystemGraphCredential.createCredentialForPassword(
                    password.getBytes(StandardCharsets.UTF_8), new SecureHasher());
            users.create(new User(USER, null, credential, false, false));
            users.shutdown();
        }
        return file;
    }

    /** Make the password of user neo4j the one in the password file (no-op when it already is). */
    private static void setPassword(DatabaseManagementService dbms, String password) {
        try {
            dbms.database("system").executeTransactionally(
                    "ALTER USER " + USER + " SET PASSWORD $password CHANGE NOT REQUIRED", Map.of("password", password));
        } catch (RuntimeException e) {
            String message = String.valueOf(e.getMessage());
            if (!message.contains("Old password and new password cannot be the same")) {
                throw e;
            }
        }
    }

    /** Serve the Browser's static files (classpath folder "browser/") and its discovery document at "/". */
    private static HttpServer serveBrowser(int httpPort, int boltPort) throws IOException {
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", httpPort), 16);
        String discovery = "{\"bolt_direct\":\"bolt://127.0.0.1:" + boltPort + "\","
                + "\"bolt_routing\":\"neo4j://127.0.0.1:" + boltPort + "\","
                + "\"neo4j_version\":\"" + NEO4J_VERSION + "\",\"neo4j_edition\":\"community\","
                + "\"auth_config\":{\"oidc_providers\":[]}}";
        server.createContext("/", exchange -> {
            String path = exchange.getRequestURI().getPath();
            if (path.equals("/")) {
                String accept = String.valueOf(exchange.getRequestHeaders().getFirst("Accept"));
                if (accept.contains("text/html")) {
                    exchange.getResponseHeaders().add("Location", "/browser/");
                    exchange.sendResponseHeaders(303, -1);
                    exchange.close();
                    return;
                }
                send(exchange, 200, "application/json", discovery.getBytes(StandardCharsets.UTF_8));
                return;
            }
            if (path.equals("/browser")) {
                exchange.getResponseHeaders().add("Location", "/browser/");
                exchange.sendResponseHeaders(301, -1);
                exchange.close();
                return;
            }
            if (!path.startsWith("/browser/") || path.contains("..")) {
                send(exchange, 404, "text/plain", "not found".getBytes(StandardCharsets.UTF_8));
                return;
            }
            String resource = path.endsWith("/") ? path.substring(1) + "index.html" : path.substring(1);
            try (InputStream in = GraphflowsNeo4j.class.getClassLoader().getResourceAsStream(resource)) {
                if (in == null) {
                    send(exchange, 404, "text/plain", "not found".getBytes(StandardCharsets.UTF_8));
                    return;
                }
                send(exchange, 200, contentType(resource), in.readAllBytes());
            }
        });
        server.start();
        return server;
    }

    private static void send(HttpExchange exchange, int status, String type, byte[] body) throws IOException {
        exchange.getResponseHeaders().add("Content-Type", type);
        exchange.sendResponseHeaders(status, body.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(body);
        }
    }

    private static String contentType(String name) {
        Map<String, String> types = Map.of(
                "html", "text/html; charset=utf-8", "js", "application/javascript", "css", "text/css",
                "json", "application/json", "svg", "image/svg+xml", "png", "image/png", "ico", "image/x-icon",
                "woff", "font/woff", "woff2", "font/woff2", "ttf", "font/ttf");
        String ext = name.substring(name.lastIndexOf('.') + 1);
        return types.getOrDefault(ext, "application/octet-stream");
    }

    private static Map<String, String> parse(String[] args) {
        Map<String, String> opts = new HashMap<>();
        for (int i = 0; i + 1 < args.length; i += 2) {
            opts.put(args[i], args[i + 1]);
        }
        return opts;
    }

    private static String required(Map<String, String> opts, String name) {
        String value = opts.get(name);
        if (value == null) {
            System.err.println("graphflows-neo4j: missing " + name);
            System.exit(2);
        }
        return value;
    }
}
