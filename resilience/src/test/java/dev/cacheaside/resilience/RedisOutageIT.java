package dev.cacheaside.resilience;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cacheaside.core.CacheAside;
import dev.cacheaside.core.Codec;
import dev.cacheaside.redis.RedisCacheStore;
import dev.cacheaside.testing.RealServers;
import dev.cacheaside.testing.TestRedis;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import io.r2dbc.spi.ConnectionFactory;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;
import reactor.test.StepVerifier;
import dev.cacheaside.testing.Poll;

/**
 * A real Redis killed, restarted, frozen ({@code SIGSTOP}) and thawed under a cache-aside read
 * load on a real PostgreSQL: no read fails, and no read after recovery is older than the last
 * write.
 */
@RealServers
@ExtendWith(NoBlockingCalls.class)
class RedisOutageIT {
  private static final Duration WAIT = Duration.ofSeconds(60);
  private static final int KEYS = 100;

  /** How Redis goes away: killed (comes back empty) or frozen (comes back with its data). */
  enum Outage {
    KILL {
      @Override
      void begin(TestRedis redis) {
        redis.stop();
      }

      @Override
      void end(TestRedis redis) {
        redis.start();
      }
    },
    FREEZE {
      @Override
      void begin(TestRedis redis) {
        redis.freeze();
      }

      @Override
      void end(TestRedis redis) {
        redis.thaw();
      }
    };

    abstract void begin(TestRedis redis);

    abstract void end(TestRedis redis);
  }

  private final RedisClient client;
  private final Catalog catalog;
  private RedisCacheStore redisStore;
  private ResilientCacheStore store;
  private CacheAside<Integer, String> items;

  RedisOutageIT(RedisClient client, ConnectionFactory db) {
    this.client = client;
    this.catalog = new Catalog(db, 8).create(KEYS);
  }

  private void setUp(UnaryOperator<ResilientCacheStore.Builder> options) {
    redisStore = RedisCacheStore.create(client);
    store = options.apply(ResilientCacheStore.builder(redisStore).name("redis")
            // The test machine is shared: a limit with room for a busy moment.
            .timeLimit(Duration.ofMillis(100))
            .circuitBreakerConfig(CircuitBreakerConfig.from(
                    ResilientCacheStore.DEFAULT_CIRCUIT_BREAKER_CONFIG)
                .waitDurationInOpenState(Duration.ofMillis(250)).build())
            .replayRetryInterval(Duration.ofMillis(50)))
        .build();
    items = CacheAside.<Integer, String>builder("items").store(store).codec(Codec.utf8()).build();
  }

  @AfterEach
  void tearDown() {
    if (store != null) {
      store.close();
    }
    if (redisStore != null) {
      redisStore.close();
    }
    catalog.close();
  }

  private Mono<String> read(int id) {
    return items.cacheAside(id, catalog::load);
  }

  private Mono<String> write(int id, String value) {
    return items.writeThenInvalidate(id, catalog.update(id, value));
  }

  private void warm() {
    Flux.range(0, KEYS).flatMap(id -> read(id).subscribeOn(Schedulers.parallel()), 8)
        .blockLast(WAIT);
  }

  private CircuitBreaker.State breaker() {
    return store.circuitBreaker().getState();
  }

  /**
   * Reads (on Reactor threads, 8 at a time, as a service under load would) until the breaker is
   * in {@code state}: it opens on a rate of failures over its window, not on one.
   */
  private void readUntil(CircuitBreaker.State state) {
    int[] next = {0};
    Poll.until("the breaker to be " + state, WAIT, () -> {
      Flux.range(0, 8).flatMap(i -> read(next[0]++ % KEYS).subscribeOn(Schedulers.parallel()))
          .blockLast(WAIT);
      return breaker() == state;
    });
  }

  private static void awaitServed(ReadLoad load, long atLeast) {
    Poll.until(atLeast + " reads served", WAIT, () -> load.served() >= atLeast);
  }

  @Test
  void redisKilledUnderSteadyReads_noReadFails_breakerOpens_thenClosesAndHitsResume(
      TestRedis redis) {
    setUp(b -> b);
    warm();
    try (ReadLoad load = new ReadLoad(4, Duration.ofMillis(2), n -> read(n % KEYS))) {
      awaitServed(load, 200);
      redis.stop();
      Poll.until("the breaker to open", WAIT, () -> breaker() == CircuitBreaker.State.OPEN);
      long loadsAtOpen = items.stats().loads();
      awaitServed(load, load.served() + 300);
      assertThat(items.stats().loads() - loadsAtOpen).as("reads served from the database")
          .isPositive();

      redis.start();
      Poll.until("the breaker to close", WAIT, () -> breaker() == CircuitBreaker.State.CLOSED);
      long hitsAtClose = items.stats().hits();
      Poll.until("hits to resume", WAIT, () -> items.stats().hits() >= hitsAtClose + 200);
      assertThat(load.failures).as("failed reads").isEmpty();
    }
    assertThat(store.stats().skippedCalls()).as("calls skipped while open").isPositive();
  }

  @Test
  void redisFrozen_everyReadCompletesWhileItStaysFrozen_neverWaitingOnTheSocketTimeout(
      TestRedis redis, RedisURI uri) {
    setUp(b -> b);
    warm();
    assertThat(uri.getTimeout()).as("Lettuce's own command timeout, which no read may wait for")
        .isGreaterThanOrEqualTo(Duration.ofSeconds(60));
    redis.freeze();
    Map<Integer, String> truth = catalog.all();
    List<Long> latencies = new CopyOnWriteArrayList<>();
    Flux<String> reads = Flux.range(0, 200).flatMap(i -> Mono.defer(() -> {
      long start = System.nanoTime();
      return read(i % KEYS).doOnNext(v -> latencies.add(System.nanoTime() - start));
    }).subscribeOn(Schedulers.parallel()), 8);
    // Redis stays frozen until all 200 reads completed: none of them waited for it.
    StepVerifier.create(reads.collectList())
        .assertNext(values -> assertThat(values).hasSize(200)
            .allMatch(v -> truth.containsValue(v)))
        .expectComplete()
        .verify(Duration.ofSeconds(30));
    assertThat(store.stats().timeouts()).isPositive();
    // Opened on the rate of timeouts; by now it may be half-open, its background probe waiting.
    assertThat(breaker()).isIn(CircuitBreaker.State.OPEN, CircuitBreaker.State.HALF_OPEN);
    assertThat(store.stats().skippedCalls()).as("calls skipped while open").isPositive();
    System.out.printf("frozen Redis, time limit 100 ms: 200 reads, slowest %d ms, %d timeouts%n",
        latencies.stream().mapToLong(Long::longValue).max().orElse(0) / 1_000_000,
        store.stats().timeouts());

    redis.thaw();
    readUntil(CircuitBreaker.State.CLOSED);
  }

  @ParameterizedTest
  @EnumSource(Outage.class)
  void writesWhileRedisIsDown_invalidatedAfterItReturns_noReadOlderThanTheLastWrite(
      Outage outage, TestRedis redis) {
    setUp(b -> b);
    warm();
    outage.begin(redis);
    // Once open, the breaker skips the deletes: they are never sent, only queued.
    readUntil(CircuitBreaker.State.OPEN);
    Flux.range(0, 30).flatMap(id -> write(id, "v1-" + id).subscribeOn(Schedulers.parallel()), 8)
        .blockLast(WAIT);
    assertThat(items.stats().invalidationFailures()).as("invalidations reported lost").isZero();
    assertThat(store.pendingInvalidations()).isEqualTo(30);
    assertThat(read(7).block(WAIT)).as("a read during the outage").isEqualTo("v1-7");

    outage.end(redis);
    assertNoStaleReadAfterRecovery();
    assertThat(store.stats().invalidationsReplayed()).isEqualTo(30);
  }

  @Test
  void replayQueueOverflow_bumpsTheGeneration_noReadOlderThanTheLastWrite(TestRedis redis) {
    setUp(b -> b.maxPendingInvalidations(5));
    warm();
    String oldKey = items.storeKey(0).block(WAIT);
    redis.freeze();
    readUntil(CircuitBreaker.State.OPEN);
    Flux.range(0, 30).flatMap(id -> write(id, "v1-" + id).subscribeOn(Schedulers.parallel()), 8)
        .blockLast(WAIT);
    assertThat(items.stats().invalidationFailures()).isZero();
    // Each of the 30 is owed: counted into the bump, or queued behind it when it was skipped while
    // a bump was being tried (the background probe lets calls through to the frozen Redis), and
    // then replayed after the bump.
    assertThat(store.stats().invalidationsOverflowed() + store.pendingInvalidations())
        .as("invalidations covered by the bump or queued").isGreaterThanOrEqualTo(30);

    redis.thaw();
    assertNoStaleReadAfterRecovery();
    assertThat(store.stats().generationBumps()).isPositive();
    try (StatefulRedisConnection<String, String> raw = client.connect()) {
      assertThat(raw.sync().get(RedisCacheStore.valueKey(oldKey)))
          .as("the old entry is still in Redis, unreachable").isNotNull();
    }
  }

  /**
   * From the moment Redis is back, reads under load must all equal the database (which no longer
   * changes); then every key is checked once more.
   */
  private void assertNoStaleReadAfterRecovery() {
    Map<Integer, String> truth = catalog.all();
    List<String> stale = new CopyOnWriteArrayList<>();
    try (ReadLoad load = new ReadLoad(4, Duration.ofMillis(1), n -> {
      int id = n % KEYS;
      return read(id).doOnNext(v -> {
        if (!v.equals(truth.get(id))) {
          stale.add(id + "=" + v);
        }
      });
    })) {
      Poll.until("the store to recover", WAIT, store::recovered);
      awaitServed(load, load.served() + 300);
      assertThat(load.failures).as("failed reads").isEmpty();
    }
    assertThat(stale).as("reads older than the last write").isEmpty();
    for (int id = 0; id < KEYS; id++) {
      assertThat(read(id).block(WAIT)).as("item %d", id).isEqualTo(truth.get(id));
    }
  }
}
