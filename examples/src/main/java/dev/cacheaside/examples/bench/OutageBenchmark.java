package dev.cacheaside.examples.bench;

import dev.cacheaside.core.CacheAside;
import dev.cacheaside.core.stats.CacheStats;
import dev.cacheaside.core.Codec;
import dev.cacheaside.redis.RedisCacheStore;
import dev.cacheaside.resilience.LoadBulkhead;
import dev.cacheaside.resilience.ResilienceStats;
import dev.cacheaside.resilience.ResilientCacheStore;
import dev.cacheaside.testing.TestPostgres;
import dev.cacheaside.testing.TestRedis;
import dev.cacheaside.testing.TestSchema;
import io.r2dbc.pool.ConnectionPool;
import io.r2dbc.pool.ConnectionPoolConfiguration;
import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactory;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

/**
 * Kills the managed Redis under a steady, open-loop read and write load on a real PostgreSQL,
 * restarts it, then freezes it ({@code SIGSTOP}) and thaws it, and prints per phase (before,
 * Redis killed, after the restart, Redis frozen, after the thaw) the requests served and failed,
 * the hit rate, the database loads and the latency percentiles, plus when the circuit breaker
 * opened and closed and what happened to the invalidations of the writes made while Redis was
 * away.
 *
 * <p>The stack is the recommended one: a {@code RedisCacheStore} wrapped in a
 * {@code ResilientCacheStore} with its defaults, and a {@code LoadBulkhead} of 16 loads on the
 * R2DBC loader. It runs twice: on a Lettuce client with its default options
 * ({@code RedisCacheStore.create(client)}: commands issued while disconnected wait in a buffer,
 * reconnect attempts back off up to 30 s), and on the client {@code RedisCacheStore.builder()
 * .uri(..)} makes (commands rejected at once while disconnected, reconnects within a second, 1 s
 * command timeout). Latency is measured from each request's scheduled start, so a stall counts in
 * full (no coordinated omission).
 *
 * <p>Run: {@code mvn -B -q -Pbench -Dbench=OutageBenchmark -DskipTests package}. Options (system
 * properties via {@code -Drun.jvm.args="-Drate=..."}): {@code rate} (requests per second, 2000),
 * {@code keys} (10000), {@code zipf} (1.0), {@code writes} (percent of requests, 1),
 * {@code warmup}, {@code before}, {@code outage}, {@code after} (phase lengths in seconds: 5,
 * 10, 5, 10; the warm-up runs the same load unreported; the freeze lasts {@code outage} and is
 * followed by {@code after} seconds too).
 */
public final class OutageBenchmark {
  private static final int RATE = Integer.getInteger("rate", 2_000);
  private static final int KEYS = Integer.getInteger("keys", 10_000);
  private static final double ZIPF = Double.parseDouble(System.getProperty("zipf", "1.0"));
  private static final int WRITE_PERCENT = Integer.getInteger("writes", 1);
  private static final int WARMUP = Integer.getInteger("warmup", 5);
  private static final int BEFORE = Integer.getInteger("before", 10);
  private static final int OUTAGE = Integer.getInteger("outage", 5);
  private static final int AFTER = Integer.getInteger("after", 10);
  private static final int TICKS_PER_SECOND = 100;
  private static final int BULKHEAD = 16;
  private static final Duration READ_TIMEOUT = Duration.ofSeconds(10);

  private static final String[] PHASES = {"before", "Redis killed", "after restart",
      "Redis frozen", "after thaw"};

  private OutageBenchmark() {}

  /** What one phase saw. */
  private static final class Phase {
    final long[] latencies;
    final AtomicInteger count = new AtomicInteger();
    final LongAdder failed = new LongAdder();
    final LongAdder writes = new LongAdder();
    final LongAdder failedWrites = new LongAdder();
    volatile CacheStats statsAtStart = CacheStats.empty();
    volatile CacheStats statsAtEnd = CacheStats.empty();

    Phase(int seconds) {
      latencies = new long[RATE * seconds * 3];
    }

    void record(long nanos) {
      int i = count.getAndIncrement();
      if (i < latencies.length) {
        latencies[i] = nanos;
      }
    }

    long[] samples() {
      return Arrays.copyOf(latencies, Math.min(count.get(), latencies.length));
    }
  }

  public static void main(String[] args) {
    TestRedis redis = TestRedis.get();
    if (!redis.managed()) {
      throw new IllegalStateException("OutageBenchmark kills Redis: unset "
          + TestRedis.URI_ENV + " so that it runs its own");
    }
    TestPostgres postgres = TestPostgres.get();
    TestSchema schema = postgres.newSchema();
    ConnectionFactory unpooled = schema.connectionFactory();
    execute(unpooled, "CREATE TABLE item (id int PRIMARY KEY, value text NOT NULL)");
    execute(unpooled, "INSERT INTO item SELECT i, 'v0-' || i FROM generate_series(0, "
        + (KEYS - 1) + ") i");
    ConnectionPool pool = new ConnectionPool(ConnectionPoolConfiguration.builder(unpooled)
        .maxSize(BULKHEAD).maxAcquireTime(Duration.ofSeconds(5)).build());

    System.out.printf(Locale.ROOT, "outage: Redis %s killed after %d s of steady load (after %d s"
            + " of warm-up), restarted"
            + " %d s later, measured %d s more; %,d requests/s open loop (%d %% writes) over"
            + " %,d keys (Zipf %.1f); PostgreSQL %s loader behind a bulkhead of %d;"
            + " ResilientCacheStore defaults (time limit %d ms); then frozen as long and thawed;"
            + " %d cores%n", redis.version(),
        BEFORE, WARMUP, OUTAGE, AFTER, RATE, WRITE_PERCENT, KEYS, ZIPF, postgres.version(),
        BULKHEAD,
        ResilientCacheStore.DEFAULT_TIME_LIMIT.toMillis(),
        Runtime.getRuntime().availableProcessors());

    run("RedisCacheStore.create(client), Lettuce's default options (commands buffered while"
        + " disconnected, reconnect backoff up to 30 s)", redis,
        RedisCacheStore.create(redis.client()), pool, "items-a");
    run("RedisCacheStore.builder().uri(..) (commands rejected while disconnected, reconnect"
        + " within 1 s, 1 s command timeout)", redis,
        RedisCacheStore.builder().uri(redis.uri().toString()).build(), pool, "items-b");

    pool.dispose();
    schema.close();
    System.exit(0);
  }

  private static void run(String variant, TestRedis redis, RedisCacheStore redisStore,
      ConnectionPool pool, String cacheName) {
    // Closing it closes the Redis store too.
    ResilientCacheStore store = ResilientCacheStore.builder(redisStore).name(cacheName).build();
    LoadBulkhead bulkhead = LoadBulkhead.of("postgres", BULKHEAD, Duration.ofSeconds(1));
    CacheAside<Integer, String> items = CacheAside.<Integer, String>builder(cacheName)
        .store(store).codec(Codec.utf8()).ttl(Duration.ofMinutes(10)).loadDecorator(bulkhead)
        .build();
    List<String> transitions = new CopyOnWriteArrayList<>();
    // Why requests failed, by the exception's class: the database falling behind (a bulkhead or
    // pool wait running out) looks different from the cache failing a read.
    Map<String, LongAdder> failures = new ConcurrentSkipListMap<>();
    // The last thing done to Redis, and when: transitions are timed from it.
    AtomicReference<String> lastEvent = new AtomicReference<>();
    AtomicLong lastEventAt = new AtomicLong();
    store.circuitBreaker().getEventPublisher().onStateTransition(event -> {
      String state = event.getStateTransition().getToState().name().toLowerCase(Locale.ROOT);
      String since = lastEvent.get();
      transitions.add(since == null ? state + " (before the kill)"
          : String.format(Locale.ROOT, "%s %d ms after the %s", state,
              TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - lastEventAt.get()), since));
    });

    // No more at a time than the bulkhead lets load: on a busy machine a queue behind it waits
    // past its 1 s and fails the warm-up.
    Flux.range(0, KEYS).flatMap(id -> items.cacheAside(id, key -> load(pool, key)), BULKHEAD)
        .blockLast(Duration.ofMinutes(5));

    // Phase 0 is the warm-up of the JIT and the pools under the same load; it is not reported.
    Phase[] phases = {new Phase(WARMUP), new Phase(BEFORE), new Phase(OUTAGE), new Phase(AFTER),
        new Phase(OUTAGE), new Phase(AFTER)};
    AtomicInteger current = new AtomicInteger();
    Zipf zipf = new Zipf(KEYS, ZIPF);
    // Only the tick operator draws from it, one tick at a time.
    SplittableRandom random = new SplittableRandom(42);
    int perTick = Math.max(1, RATE / TICKS_PER_SECOND);
    AtomicInteger inFlight = new AtomicInteger();
    AtomicBoolean issuing = new AtomicBoolean(true);
    Disposable load = Flux.interval(Duration.ofMillis(1000 / TICKS_PER_SECOND))
        .onBackpressureDrop()
        .takeWhile(tick -> issuing.get())
        .concatMapIterable(tick -> {
          long scheduled = System.nanoTime();
          int[] ids = new int[perTick];
          Arrays.setAll(ids, i -> random.nextInt(100) < WRITE_PERCENT ? -1 - zipf.next(random)
              : zipf.next(random));
          return Arrays.stream(ids).mapToObj(id -> new long[] {id, scheduled}).toList();
        })
        .flatMap(request -> {
          int id = (int) request[0];
          long scheduled = request[1];
          Phase phase = phases[current.get()];
          inFlight.incrementAndGet();
          // A read with no answer within 10 s counts as failed: nothing may hang.
          Mono<String> call = id >= 0
              ? items.cacheAside(id, key -> load(pool, key)).timeout(READ_TIMEOUT)
              : items.writeThenInvalidate(-1 - id, update(pool, -1 - id));
          return call
              .doOnSuccess(v -> {
                if (id >= 0) {
                  phase.record(System.nanoTime() - scheduled);
                } else {
                  phase.writes.increment();
                }
              })
              .onErrorResume(e -> {
                (id >= 0 ? phase.failed : phase.failedWrites).increment();
                failures.computeIfAbsent(e.getClass().getSimpleName(), k -> new LongAdder())
                    .increment();
                return Mono.empty();
              })
              .doFinally(s -> inFlight.decrementAndGet());
        }, 4096)
        .subscribeOn(Schedulers.parallel())
        .subscribe();

    pause(WARMUP);
    transitions.clear();
    ResilienceStats atKill = store.stats();
    String[] events = {null, "kill", "restart", "freeze", "thaw"};
    Runnable[] actions = {() -> { }, redis::stop, redis::start, redis::freeze, redis::thaw};
    int[] lengths = {BEFORE, OUTAGE, AFTER, OUTAGE, AFTER};
    for (int i = 1; i < phases.length; i++) {
      phases[i].statsAtStart = items.stats();
      if (i > 1) {
        phases[i - 1].statsAtEnd = phases[i].statsAtStart;
      }
      if (i == 2) {
        atKill = store.stats();
      }
      current.set(i);
      if (events[i - 1] != null) {
        lastEvent.set(events[i - 1]);
        lastEventAt.set(System.nanoTime());
      }
      actions[i - 1].run();
      pause(lengths[i - 1]);
    }
    issuing.set(false);
    // Every request issued ends by itself (each read has its own timeout).
    long drainDeadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (inFlight.get() > 0 && System.nanoTime() < drainDeadline) {
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(10));
    }
    load.dispose();
    phases[phases.length - 1].statsAtEnd = items.stats();
    ResilienceStats resilience = store.stats();

    System.out.printf(Locale.ROOT, "%n%s%n%n", variant);
    System.out.println("| phase | reads served | reads failed | hit rate | DB loads | p50 ms |"
        + " p99 ms | max ms |");
    System.out.println("|---|---:|---:|---:|---:|---:|---:|---:|");
    long served = 0;
    long failed = 0;
    long writes = 0;
    long failedWrites = 0;
    for (int i = 1; i < phases.length; i++) {
      Phase phase = phases[i];
      long[] samples = phase.samples();
      CacheStats delta = phase.statsAtEnd.minus(phase.statsAtStart);
      System.out.printf(Locale.ROOT, "| %s | %,d | %,d | %.1f %% | %,d | %.2f | %.2f | %.1f |%n",
          PHASES[i - 1], samples.length, phase.failed.sum(), 100 * delta.hitRate(), delta.loads(),
          Stats.percentileMicros(samples, 50) / 1000, Stats.percentileMicros(samples, 99) / 1000,
          Stats.percentileMicros(samples, 100) / 1000);
      served += samples.length;
      failed += phase.failed.sum();
      writes += phase.writes.sum();
      failedWrites += phase.failedWrites.sum();
    }
    System.out.printf(Locale.ROOT, "%nreads: %,d served, %,d failed; writes: %,d, %,d failed%n",
        served, failed, writes, failedWrites);
    if (!failures.isEmpty()) {
      System.out.printf(Locale.ROOT, "failed requests by cause (the warm-up too): %s%n", failures);
    }
    System.out.printf(Locale.ROOT, "circuit breaker: %s%n",
        transitions.isEmpty() ? "no transitions" : String.join(", ", transitions));
    System.out.printf(Locale.ROOT, "store calls from the kill on: %,d timed out, %,d skipped by the"
            + " open breaker, %,d failed; invalidations queued %,d, replayed %,d, pending %,d,"
            + " generation bumps %d; final breaker state %s%n",
        resilience.timeouts() - atKill.timeouts(),
        resilience.skippedCalls() - atKill.skippedCalls(),
        resilience.failedCalls() - atKill.failedCalls(),
        resilience.invalidationsQueued() - atKill.invalidationsQueued(),
        resilience.invalidationsReplayed() - atKill.invalidationsReplayed(),
        store.pendingInvalidations(), resilience.generationBumps() - atKill.generationBumps(),
        store.circuitBreaker().getState().name().toLowerCase(Locale.ROOT));
    store.close();
  }

  private static Mono<String> load(ConnectionPool pool, int id) {
    return Mono.usingWhen(pool.create(),
        c -> Mono.from(c.createStatement("SELECT value FROM item WHERE id = $1").bind("$1", id)
                .execute())
            .flatMap(result -> Mono.from(result.map((row, meta) -> row.get(0, String.class)))),
        Connection::close);
  }

  private static Mono<String> update(ConnectionPool pool, int id) {
    String value = "v" + System.nanoTime() + "-" + id;
    return Mono.usingWhen(pool.create(),
        c -> Mono.from(c.createStatement("UPDATE item SET value = $2 WHERE id = $1")
                .bind("$1", id).bind("$2", value).execute())
            .flatMap(result -> Mono.from(result.getRowsUpdated())),
        Connection::close).thenReturn(value);
  }

  private static void execute(ConnectionFactory factory, String sql) {
    Mono.usingWhen(Mono.from(factory.create()),
        c -> Flux.from(c.createStatement(sql).execute())
            .flatMap(result -> result.getRowsUpdated()).then(),
        Connection::close).block(Duration.ofMinutes(1));
  }

  private static void pause(int seconds) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    for (long left = deadline - System.nanoTime(); left > 0; left = deadline - System.nanoTime()) {
      LockSupport.parkNanos(left);
    }
  }
}
