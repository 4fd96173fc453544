package dev.cacheaside.r2dbc;

import dev.cacheaside.core.CacheAside;
import io.r2dbc.postgresql.api.Notification;
import io.r2dbc.postgresql.api.PostgresqlConnection;
import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.Wrapped;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.OptionalInt;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;
import reactor.util.Logger;
import reactor.util.Loggers;
import reactor.util.retry.Retry;

/**
 * Invalidates cache entries when their rows change in PostgreSQL, whoever changed them (a
 * migration, psql, another service): it {@code LISTEN}s on the channel that
 * {@link PgNotifyTrigger}'s triggers notify and invalidates the keys each notification names in
 * the caches registered for that table.
 *
 * <pre>{@code
 * PgInvalidationListener listener = PgInvalidationListener.builder(connectionFactory)
 *     .table("product", "id", Long::valueOf, products, productViews)
 *     .build();
 * listener.installTriggers().then(listener.start()).block();   // at startup
 * ...
 * listener.stop().block();                                      // at shutdown
 * }</pre>
 *
 * <h2>Connection</h2>
 * The listener holds one connection of its own for as long as it runs: give it a factory of plain
 * r2dbc-postgresql connections (a pool works, but then keeps one connection taken). It checks the
 * connection every {@linkplain Builder#healthCheck health-check interval}; when the connection
 * drops (the server restarted, {@code pg_terminate_backend}, a network fault), it reconnects with
 * backoff, forever, until stopped.
 *
 * <h2>What is lost, and how it is made up for</h2>
 * PostgreSQL keeps no notification for a listener that is not connected. So after each reconnect,
 * once {@code LISTEN} is active again, the listener bumps the generation of every registered cache
 * ({@link CacheAside#bumpGeneration()}): entries cached before are unreachable, and nothing changed
 * while it was away is served stale. The same happens when notifications arrive faster than the
 * cache store can take their invalidations for too long (more than
 * {@value #MAX_PENDING_NOTIFICATIONS} waiting). Between the drop and the reconnect, changes are
 * not seen; the TTL bounds that window if the database stays unreachable.
 *
 * <h2>Failures</h2>
 * An invalidation or a generation bump that fails is retried, and one that still fails is
 * counted, logged and reported, as the {@link Builder#invalidationPolicy} says. A key the
 * registration's parser rejects makes the listener bump that cache's generation instead.
 *
 * @since 0.1
 */
public final class PgInvalidationListener {
  /** Default pause before the first reconnect: {@value} ms; it doubles up to the maximum. */
  public static final long DEFAULT_RECONNECT_MIN_MILLIS = 100;
  /** Default longest pause between reconnects: {@value} ms. */
  public static final long DEFAULT_RECONNECT_MAX_MILLIS = 10_000;
  /** Default interval of the connection health check: {@value} ms. */
  public static final long DEFAULT_HEALTH_CHECK_MILLIS = 30_000;
  /** Notifications waiting for their invalidation beyond which the listener starts over. */
  static final int MAX_PENDING_NOTIFICATIONS = 10_000;
  /** How long a health check may take before the connection is taken for dead. */
  static final Duration HEALTH_CHECK_TIMEOUT = Duration.ofSeconds(10);
  /** Invalidations in flight at once. */
  private static final int CONCURRENT_INVALIDATIONS = 32;
  private static final Logger LOG = Loggers.getLogger(PgInvalidationListener.class);

  private final ConnectionFactory connections;
  private final String channel;
  private final List<Registration<?>> registrations;
  private final List<CacheAside<?, ?>> caches;
  private final Duration reconnectMin;
  private final Duration reconnectMax;
  private final Duration healthCheck;
  private final Scheduler scheduler;
  private final Invalidator invalidator;
  private final String name;
  private final AtomicReference<@Nullable Run> current = new AtomicReference<>();
  private final LongAdder notifications = new LongAdder();
  private final LongAdder ignored = new LongAdder();
  private final LongAdder reconnects = new LongAdder();
  private volatile int backendPid = -1;

  private PgInvalidationListener(Builder builder) {
    this.connections = builder.connections;
    this.channel = builder.channel;
    this.registrations = List.copyOf(builder.registrations);
    // By identity: a cache is one object, whatever its equals says.
    Set<CacheAside<?, ?>> distinct = Collections.newSetFromMap(new IdentityHashMap<>());
    registrations.forEach(r -> distinct.addAll(r.caches()));
    this.caches = List.copyOf(distinct);
    this.reconnectMin = builder.reconnectMin;
    this.reconnectMax = builder.reconnectMax;
    this.healthCheck = builder.healthCheck;
    this.scheduler = builder.scheduler;
    this.name = "PgInvalidationListener[" + channel + "]";
    this.invalidator = new Invalidator(name, builder.invalidationPolicy, scheduler);
  }

  /** Starts a builder of a listener whose connection comes from {@code connections}. */
  public static Builder builder(ConnectionFactory connections) {
    return new Builder(connections);
  }

  /** The channel listened on. */
  public String channel() {
    return channel;
  }

  /**
   * Installs (or reinstalls) {@link PgNotifyTrigger}'s trigger for every registered table and key
   * column, notifying this listener's channel, one table after the other; idempotent. Completes
   * when all are installed; errors with the first failure (see {@link PgNotifyTrigger#install}).
   */
  public Mono<Void> installTriggers() {
    Map<String, Set<String>> columnsByTable = new LinkedHashMap<>();
    registrations.forEach(r ->
        columnsByTable.computeIfAbsent(r.table(), t -> new LinkedHashSet<>()).add(r.column()));
    return Flux.fromIterable(columnsByTable.entrySet())
        .concatMap(e -> Flux.fromIterable(e.getValue())
            .concatMap(column -> PgNotifyTrigger.install(connections, e.getKey(), column, channel)))
        .then();
  }

  /**
   * Starts listening. Completes once {@code LISTEN} is active, so a change committed after that is
   * seen; errors if the first connection or {@code LISTEN} fails (the listener is then stopped and
   * may be started again). After that first success, lost connections are re-established in the
   * background until {@link #stop()}. Calling it while running returns the same readiness; while
   * stopping, it waits for the stop and starts again.
   *
   * <p>Changes made before the first {@code LISTEN} (while no listener ran) are not known to it:
   * if entries may have been cached then, bump the caches' generations at deployment, or rely on
   * their TTL.
   */
  public Mono<Void> start() {
    return Mono.defer(() -> {
      Run run = current.get();
      if (run == null) {
        Run fresh = new Run();
        if (!current.compareAndSet(null, fresh)) {
          return start();
        }
        fresh.begin();
        return fresh.ready.asMono();
      }
      return run.stopping ? run.done.asMono().then(start()) : run.ready.asMono();
    });
  }

  /**
   * Stops listening: notifications already received are still invalidated, then the connection is
   * closed. Completes when it is closed; does nothing if the listener is not running. Never errors.
   */
  public Mono<Void> stop() {
    return Mono.defer(() -> {
      Run run = current.get();
      if (run == null) {
        return Mono.empty();
      }
      run.stopping = true;
      run.stop.tryEmitEmpty();
      return run.done.asMono();
    });
  }

  /** Whether the listener is connected and its {@code LISTEN} active right now. */
  public boolean isListening() {
    return backendPid >= 0;
  }

  /**
   * The process id of the listener's PostgreSQL backend while it is listening (as in
   * {@code pg_stat_activity.pid}), to find or end its session; empty otherwise.
   */
  public OptionalInt backendPid() {
    int pid = backendPid;
    return pid >= 0 ? OptionalInt.of(pid) : OptionalInt.empty();
  }

  /** A snapshot of the counters. */
  public Stats stats() {
    return new Stats(notifications.sum(), ignored.sum(), invalidator.keysInvalidated.sum(),
        invalidator.generationBumps.sum(), reconnects.sum(), invalidator.failures.sum());
  }

  @Override
  public String toString() {
    return name;
  }

  /** One run of the listener, from a start to the end of its stop. */
  private final class Run {
    final Sinks.Empty<Void> stop = Sinks.empty();
    final Sinks.Empty<Void> ready = Sinks.empty();
    final Sinks.Empty<Void> done = Sinks.empty();
    volatile boolean stopping;
    /** Whether a session of this run has been listening: later sessions are reconnects. */
    volatile boolean listened;

    void begin() {
      Flux.defer(() -> session(this))
          .retryWhen(Retry.from(signals -> signals
              .concatMap(signal -> {
                if (!listened) {
                  return Mono.error(signal.failure());
                }
                Duration delay = backoff(signal.totalRetriesInARow());
                LOG.warn("{}: connection lost ({}); reconnecting in {} ms", name,
                    signal.failure().toString(), delay.toMillis());
                return Mono.delay(delay, scheduler);
              })
              .takeUntilOther(stop.asMono())))
          .subscribe(null, this::failed, this::finished);
    }

    private void failed(Throwable error) {
      LOG.error("{}: could not start listening: {}", name, error.toString());
      current.compareAndSet(this, null);
      ready.tryEmitError(error);
      done.tryEmitEmpty();
    }

    private void finished() {
      LOG.info("{}: stopped", name);
      current.compareAndSet(this, null);
      ready.tryEmitEmpty();
      done.tryEmitEmpty();
    }
  }

  /** The pause before reconnect attempt {@code n} (0-based): doubling from the minimum, capped. */
  private Duration backoff(long n) {
    long millis = reconnectMin.toMillis() << Math.min(n, 20);
    return Duration.ofMillis(Math.min(millis, reconnectMax.toMillis()));
  }

  /**
   * One connection's life: subscribe to its notifications, {@code LISTEN}, bump generations if this
   * is a reconnect, then invalidate what arrives and check the connection's health, until the run
   * stops (completes) or the connection fails (errors). Emits once, when listening.
   */
  private Flux<Object> session(Run run) {
    return Flux.usingWhen(
        Mono.<Connection>from(connections.create()),
        connection -> listen(run, connection),
        Connection::close);
  }

  private Flux<Object> listen(Run run, Connection connection) {
    PostgresqlConnection pg = unwrap(connection);
    Mono<Void> stopped = run.stop.asMono();
    // The driver's notification stream drops what arrives without demand: buffer at once, and
    // subscribe before LISTEN so that nothing is missed in between.
    Flux<Object> invalidations = pg.getNotifications()
        .onBackpressureBuffer(MAX_PENDING_NOTIFICATIONS)
        .concatWith(Mono.error(() -> new IllegalStateException(
            "the notification stream ended: the connection closed")))
        .takeUntilOther(stopped)
        .flatMap(this::onNotification, CONCURRENT_INVALIDATIONS)
        .cast(Object.class);
    Flux<Object> listening = Sql.execute(pg, "LISTEN " + Sql.identifier(channel))
        .then(Flux.from(pg.createStatement("SELECT pg_backend_pid()").execute())
            .concatMap(result -> result.map((row, metadata) -> row.get(0, Integer.class)))
            .next())
        .flatMapMany(pid -> {
          boolean reconnect = run.listened;
          Mono<Void> catchUp = reconnect ? bumpAll() : Mono.empty();
          return catchUp.then(Mono.fromRunnable(() -> {
            backendPid = pid;
            run.listened = true;
            if (reconnect) {
              reconnects.increment();
            }
            run.ready.tryEmitEmpty();
            LOG.info("{}: listening (backend pid {}){}", name, pid,
                reconnect ? " again; bumped the generation of every registered cache" : "");
          })).thenReturn((Object) pid).concatWith(healthChecks(pg, stopped));
        });
    return Flux.merge(invalidations, listening)
        .doFinally(signal -> backendPid = -1);
  }

  /** Bumps every registered cache's generation, after notifications may have been lost. */
  private Mono<Void> bumpAll() {
    return Flux.fromIterable(caches).flatMap(invalidator::bumpGeneration).then();
  }

  private Flux<Object> healthChecks(PostgresqlConnection pg, Mono<Void> stopped) {
    if (healthCheck.isZero()) {
      return Flux.never().takeUntilOther(stopped);
    }
    // A check starts one interval after the previous one ended: a slow check never piles up.
    return Mono.delay(healthCheck, scheduler)
        .then(Sql.execute(pg, "SELECT 1").timeout(HEALTH_CHECK_TIMEOUT, scheduler)
            .onErrorMap(e -> new IllegalStateException("health check failed: " + e, e)))
        .repeat()
        .takeUntilOther(stopped)
        .cast(Object.class);
  }

  private PostgresqlConnection unwrap(Connection connection) {
    if (connection instanceof PostgresqlConnection pg) {
      return pg;
    }
    if (connection instanceof Wrapped<?> wrapped) {
      PostgresqlConnection pg = wrapped.unwrap(PostgresqlConnection.class);
      if (pg != null) {
        return pg;
      }
    }
    throw new IllegalArgumentException(name + " needs r2dbc-postgresql connections for LISTEN,"
        + " but the factory made a " + connection.getClass().getName());
  }

  private Mono<Void> onNotification(Notification notification) {
    notifications.increment();
    String text = notification.getParameter();
    NotifyPayload payload = text == null ? null : NotifyPayload.parse(text);
    if (payload == null) {
      ignored.increment();
      LOG.warn("{}: ignoring a notification that is not cache-aside's: {}", name, text);
      return Mono.empty();
    }
    List<Mono<Void>> work = new ArrayList<>(2);
    for (Registration<?> registration : registrations) {
      if (registration.matches(payload)) {
        work.add(registration.apply(payload.keys(), invalidator, name));
      }
    }
    if (work.isEmpty()) {
      ignored.increment();
      LOG.debug("{}: no cache registered for {}.{} by {}", name, payload.schema(),
          payload.table(), payload.column());
      return Mono.empty();
    }
    return Flux.merge(work).then();
  }

  /** Caches to invalidate when rows of a table change, with how the key column's text maps to their keys. */
  private record Registration<K>(String table, String column, Function<String, ? extends K> keyParser,
      List<CacheAside<K, ?>> caches) {

    /**
     * An unqualified table name matches that table in any schema; {@code schema.table} only that
     * one. Names are compared as the catalog spells them.
     */
    boolean matches(NotifyPayload payload) {
      if (!column.equals(payload.column())) {
        return false;
      }
      int dot = table.indexOf('.');
      return dot < 0
          ? table.equals(payload.table())
          : table.equals(payload.schema() + "." + payload.table());
    }

    Mono<Void> apply(List<String> texts, Invalidator invalidator, String name) {
      if (texts.isEmpty()) {
        LOG.info("{}: any key of {} may have changed (TRUNCATE, or a key too long to notify)",
            name, table);
        return Flux.fromIterable(caches).flatMap(invalidator::bumpGeneration).then();
      }
      List<K> keys = new ArrayList<>(texts.size());
      try {
        for (String text : texts) {
          keys.add(Objects.requireNonNull(keyParser.apply(text), "key parser returned null"));
        }
      } catch (RuntimeException e) {
        LOG.warn("{}: the key parser of {}.{} rejected {} ({}); bumping the generation instead",
            name, table, column, texts, e.toString());
        return Flux.fromIterable(caches).flatMap(invalidator::bumpGeneration).then();
      }
      return Flux.fromIterable(caches).flatMap(cache -> invalidator.invalidate(cache, keys)).then();
    }
  }

  /**
   * The counters of a {@link PgInvalidationListener} since it was built.
   *
   * @param notifications notifications received
   * @param ignoredNotifications notifications not in the trigger's format, or for no registered
   *     table
   * @param keysInvalidated keys invalidated (once per cache)
   * @param generationBumps cache generations bumped (after reconnects, TRUNCATEs, unparsable keys)
   * @param reconnects times the listener listened again after losing its connection
   * @param invalidationFailures invalidations and bumps that failed after their retries (reported)
   * @since 0.1
   */
  public record Stats(long notifications, long ignoredNotifications, long keysInvalidated,
      long generationBumps, long reconnects, long invalidationFailures) {}

  /**
   * Configures a {@link PgInvalidationListener}; each setter checks its argument at once.
   *
   * @since 0.1
   */
  public static final class Builder {
    private final ConnectionFactory connections;
    private String channel = PgNotifyTrigger.DEFAULT_CHANNEL;
    private final List<Registration<?>> registrations = new ArrayList<>();
    private Duration reconnectMin = Duration.ofMillis(DEFAULT_RECONNECT_MIN_MILLIS);
    private Duration reconnectMax = Duration.ofMillis(DEFAULT_RECONNECT_MAX_MILLIS);
    private Duration healthCheck = Duration.ofMillis(DEFAULT_HEALTH_CHECK_MILLIS);
    private InvalidationPolicy invalidationPolicy = InvalidationPolicy.DEFAULT;
    private Scheduler scheduler = Schedulers.parallel();

    private Builder(ConnectionFactory connections) {
      this.connections = Objects.requireNonNull(connections, "connections must not be null");
    }

    /**
     * The channel to listen on, as given to {@link PgNotifyTrigger#install}; default
     * {@link PgNotifyTrigger#DEFAULT_CHANNEL}. Taken exactly (case matters), at most 63 bytes.
     */
    public Builder channel(String channel) {
      PgNotifyTrigger.checkChannel(channel);
      this.channel = channel;
      return this;
    }

    /**
     * Invalidates, in each of {@code caches}, the keys of changed rows of {@code table}: the key
     * column's text (as the trigger sends it) goes through {@code keyParser} to become the cache's
     * key. Register a table several times for caches with other key types or key columns.
     *
     * @param table the table as the catalog spells it, optionally schema-qualified:
     *     {@code product} matches a table of that name in any schema, {@code shop.product} only the
     *     one in {@code shop}
     * @param keyColumn the key column's name as the catalog spells it
     * @param keyParser from the column's text to the key, e.g. {@code Long::valueOf}; must not
     *     block; a key it rejects (throws) makes the listener bump the caches' generation instead
     * @param caches the caches to invalidate, at least one
     * @throws NullPointerException if an argument is null
     * @throws IllegalArgumentException if a name is blank or {@code caches} is empty
     */
    @SafeVarargs
    public final <K> Builder table(String table, String keyColumn,
        Function<String, ? extends K> keyParser, CacheAside<K, ?>... caches) {
      Objects.requireNonNull(table, "table must not be null");
      if (table.isBlank()) {
        throw new IllegalArgumentException("table must not be blank");
      }
      PgNotifyTrigger.checkColumn(keyColumn);
      Objects.requireNonNull(keyParser, "keyParser must not be null");
      Objects.requireNonNull(caches, "caches must not be null");
      if (caches.length == 0) {
        throw new IllegalArgumentException("table " + table + ": at least one cache is needed");
      }
      List<CacheAside<K, ?>> list = new ArrayList<>(caches.length);
      for (CacheAside<K, ?> cache : caches) {
        list.add(Objects.requireNonNull(cache, "caches must not contain null"));
      }
      registrations.add(new Registration<>(table, keyColumn, keyParser, List.copyOf(list)));
      return this;
    }

    /**
     * The pauses between reconnect attempts: {@code min} first, doubling up to {@code max}; back
     * to {@code min} once a connection listened. Defaults 100 ms and 10 s.
     */
    public Builder reconnectBackoff(Duration min, Duration max) {
      Objects.requireNonNull(min, "min must not be null");
      Objects.requireNonNull(max, "max must not be null");
      if (min.toMillis() < 1) {
        throw new IllegalArgumentException("reconnectBackoff min must be at least 1 ms but was "
            + min);
      }
      if (max.compareTo(min) < 0) {
        throw new IllegalArgumentException("reconnectBackoff max " + max
            + " must not be less than min " + min);
      }
      this.reconnectMin = min;
      this.reconnectMax = max;
      return this;
    }

    /**
     * How often the listener runs {@code SELECT 1} on its connection, to notice a connection that
     * died without a word (a network partition): one that does not answer within 10 s is closed
     * and replaced. {@link Duration#ZERO} for never. Default 30 s.
     */
    public Builder healthCheck(Duration interval) {
      Objects.requireNonNull(interval, "interval must not be null");
      if (interval.isNegative() || (!interval.isZero() && interval.toMillis() < 1)) {
        throw new IllegalArgumentException("healthCheck must be zero or at least 1 ms but was "
            + interval);
      }
      this.healthCheck = interval;
      return this;
    }

    /**
     * What happens when an invalidation (or a generation bump) fails after its write committed:
     * how it is retried, and whom it is reported to. Default {@link InvalidationPolicy#DEFAULT}.
     */
    public Builder invalidationPolicy(InvalidationPolicy policy) {
      this.invalidationPolicy = Objects.requireNonNull(policy, "invalidationPolicy must not be null");
      return this;
    }

    /** The scheduler for reconnect pauses, health checks and retries; default {@link Schedulers#parallel()}. */
    public Builder scheduler(Scheduler scheduler) {
      this.scheduler = Objects.requireNonNull(scheduler, "scheduler must not be null");
      return this;
    }

    /**
     * Builds the listener (not started).
     *
     * @throws IllegalStateException if no table was registered
     */
    public PgInvalidationListener build() {
      if (registrations.isEmpty()) {
        throw new IllegalStateException("register at least one table(...) to listen for");
      }
      return new PgInvalidationListener(this);
    }
  }
}
