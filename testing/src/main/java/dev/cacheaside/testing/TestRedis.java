package dev.cacheaside.testing;

import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The standalone Redis of this test JVM: the server named by {@value #URI_ENV} when that is set,
 * otherwise a {@code redis-server} this class starts on first use on a free port of 127.0.0.1, with
 * no persistence, and kills when the JVM exits.
 *
 * <pre>{@code
 * TestRedis redis = TestRedis.get();
 * try (var connection = redis.client().connect()) {
 *   connection.sync().set("k", "v");
 * }
 * redis.freeze();   // the server stops answering, connections stay open
 * redis.thaw();
 * redis.stop();     // the process is gone: connections are refused
 * redis.start();    // again on the same port, empty
 * }</pre>
 *
 * <p>The outage methods ({@link #stop()}, {@link #start()}, {@link #freeze()}, {@link #thaw()}) work
 * on a server this class started ({@link #managed()}); on an external one they throw
 * {@link IllegalStateException}. {@link RedisExtension} {@linkplain #restore() restores} the server
 * after each test, so a test may leave it stopped or frozen.
 */
public final class TestRedis {

  /**
   * Environment variable naming an external server to use instead, e.g. {@code redis://127.0.0.1:6379/0}.
   * It must be one for tests only: {@link RedisExtension} deletes all its data before each test.
   */
  public static final String URI_ENV = "CACHE_ASIDE_REDIS_URI";

  private static final Logger log = LoggerFactory.getLogger(TestRedis.class);
  private static final Duration ADMIN_TIMEOUT = Duration.ofSeconds(10);

  private static @Nullable TestRedis instance;
  private static @Nullable RuntimeException startFailure;

  private enum State { RUNNING, FROZEN, STOPPED }

  private final RedisURI uri;
  private final @Nullable ServerProcess process;
  private final RedisClient client;
  private final String version;
  private State state = State.RUNNING;

  private TestRedis(RedisURI uri, @Nullable ServerProcess process) {
    this.uri = uri;
    this.process = process;
    this.client = RedisClient.create(uri);
    Work.onExit(this::shutdown); // after the process's start, so runs before anything registered earlier
    this.version = serverVersion();
  }

  /**
   * The Redis of this JVM, started on the first call unless {@value #URI_ENV} names one.
   *
   * @throws IllegalStateException if the server cannot be started; the message names the server's
   *     output file and ends with its last lines. Later calls throw the same failure at once.
   */
  public static synchronized TestRedis get() {
    if (startFailure != null) {
      throw new IllegalStateException("The test Redis failed to start earlier: " + startFailure.getMessage(),
          startFailure);
    }
    if (instance == null) {
      try {
        String external = Work.env(URI_ENV);
        instance = external != null ? connectTo(RedisURI.create(external)) : startManaged();
      } catch (RuntimeException e) {
        startFailure = e;
        throw e;
      }
    }
    return instance;
  }

  /** The instance if {@link #get()} has returned one, else null: for cleanup that must not start a server. */
  static synchronized @Nullable TestRedis current() {
    return instance;
  }

  /** An instance for a server someone else runs: nothing to start or stop. Package-private for tests. */
  static TestRedis connectTo(RedisURI uri) {
    return new TestRedis(uri, null);
  }

  private static TestRedis startManaged() {
    Path dir;
    try {
      dir = Files.createDirectories(Work.runDir().resolve("redis"));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    IllegalStateException last = null;
    for (int attempt = 0; attempt < 3; attempt++) { // a port found free may be taken before we bind it
      int port = Ports.free();
      ServerProcess process = RedisServers.process("redis-" + port, port, dir, List.of());
      try {
        RedisServers.startAndAwait(process, port);
      } catch (IllegalStateException e) {
        last = e;
        continue;
      }
      Work.onExit(() -> process.kill(Duration.ofSeconds(10)));
      log.info("Started {} on {}:{} (pid {}, output in {})",
          RedisServers.binary(), Ports.LOOPBACK_HOST, port, process.pid(), process.logFile());
      return new TestRedis(RedisURI.create(Ports.LOOPBACK_HOST, port), process);
    }
    throw last;
  }

  /** A new copy of the server's URI (a {@link RedisURI} is mutable; this one is not shared). */
  public RedisURI uri() {
    return RedisURI.builder(uri).build();
  }

  /** The Lettuce client of this JVM, connected to this server; shut down when the JVM exits. Do not shut it down. */
  public RedisClient client() {
    return client;
  }

  /** The server's {@code redis_version}, e.g. {@code 6.2.11}. */
  public String version() {
    return version;
  }

  /** Whether this class started the server, and so can stop, start, freeze and thaw it. */
  public boolean managed() {
    return process != null;
  }

  /**
   * Deletes every key of every database (FLUSHALL) through a short-lived connection.
   *
   * @throws io.lettuce.core.RedisException if the server does not answer within 10 seconds, for
   *     instance because it is stopped or frozen
   */
  public void flushAll() {
    try (StatefulRedisConnection<String, String> connection = client.connect()) {
      connection.setTimeout(ADMIN_TIMEOUT);
      connection.sync().flushall();
    }
  }

  /**
   * Kills the server process (SIGKILL, like a crash) and waits for it to exit. Its data is gone; open
   * connections see the link drop and Lettuce tries to reconnect; new connections are refused.
   * Does nothing if it is already stopped.
   */
  public synchronized void stop() {
    ServerProcess p = requireManaged("stop");
    p.kill(Duration.ofSeconds(10));
    state = State.STOPPED;
    log.info("Stopped {}", p.name());
  }

  /**
   * Starts the server again on the same port, empty, and waits until it answers PING. Does nothing
   * if it is running; thaws it if it is frozen.
   *
   * @throws IllegalStateException if it does not answer within 20 seconds (the port may have been
   *     taken meanwhile), with the tail of its output
   */
  public synchronized void start() {
    ServerProcess p = requireManaged("start");
    if (state == State.FROZEN) {
      thaw();
      return;
    }
    if (p.isAlive()) {
      state = State.RUNNING;
      return;
    }
    RedisServers.startAndAwait(p, uri.getPort());
    state = State.RUNNING;
    log.info("Started {} again (pid {})", p.name(), p.pid());
  }

  /**
   * Suspends the server process (SIGSTOP) and returns once the kernel reports it stopped: the port
   * still accepts connections (the kernel completes the handshake) but nothing is answered, which is
   * what a stalled or overloaded Redis looks like to a client. Commands time out.
   *
   * @throws IllegalStateException if the server is stopped
   */
  public synchronized void freeze() {
    ServerProcess p = requireManaged("freeze");
    if (state == State.FROZEN) {
      return;
    }
    if (!p.isAlive()) {
      throw new IllegalStateException("cannot freeze " + p.name() + ": it is not running");
    }
    p.signal("STOP");
    state = State.FROZEN;
    Await.until(p.name() + " to be stopped by SIGSTOP", Duration.ofSeconds(5), Duration.ofMillis(5),
        () -> p.isSignalStopped() ? Boolean.TRUE : null);
    log.info("Froze {}", p.name());
  }

  /** Resumes a frozen server (SIGCONT) and waits until it answers PING. Does nothing if it is not frozen. */
  public synchronized void thaw() {
    ServerProcess p = requireManaged("thaw");
    if (state != State.FROZEN) {
      return;
    }
    p.signal("CONT");
    state = State.RUNNING;
    RedisServers.awaitPing(p, uri.getPort());
    log.info("Thawed {}", p.name());
  }

  /**
   * Brings a managed server back to running and answering, whatever a test did to it: thaws it if
   * frozen, starts it if stopped (or if it died). Does nothing for an external server.
   */
  public synchronized void restore() {
    if (process == null) {
      return;
    }
    if (state == State.FROZEN) {
      if (process.isAlive()) {
        thaw();
      } else {
        state = State.STOPPED;
      }
    }
    if (!process.isAlive()) {
      state = State.STOPPED;
      start();
    }
  }

  private ServerProcess requireManaged(String operation) {
    if (process == null) {
      throw new IllegalStateException("cannot " + operation + " the external Redis at " + uri
          + " (named by " + URI_ENV + "); outage tests need a managed one");
    }
    return process;
  }

  private String serverVersion() {
    try (StatefulRedisConnection<String, String> connection = client.connect()) {
      connection.setTimeout(ADMIN_TIMEOUT);
      return infoField(connection.sync().info("server"), "redis_version");
    }
  }

  static String infoField(String info, String field) {
    String prefix = field + ":";
    return info.lines()
        .filter(line -> line.startsWith(prefix))
        .map(line -> line.substring(prefix.length()).trim())
        .findFirst()
        .orElse("unknown");
  }

  private void shutdown() {
    client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
  }

  @Override
  public String toString() {
    return "TestRedis[" + uri + (process == null ? ", external" : ", " + state.name().toLowerCase(Locale.ROOT)) + "]";
  }
}
