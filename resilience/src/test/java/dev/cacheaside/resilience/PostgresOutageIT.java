package dev.cacheaside.resilience;

import dev.cacheaside.testing.MutableClock;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cacheaside.core.CacheAside;
import dev.cacheaside.core.stats.CacheAsideMetrics;
import dev.cacheaside.core.testkit.ClockedStore;
import dev.cacheaside.core.Codec;
import dev.cacheaside.redis.RedisCacheStore;
import dev.cacheaside.testing.RealServers;
import dev.cacheaside.testing.TestPostgres;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.r2dbc.spi.ConnectionFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;
import dev.cacheaside.testing.Poll;

/**
 * A real PostgreSQL stopped while values are cached in a real Redis: what is cached (fresh, or
 * stale within grace) is served, what is not fails with the loader's own error, and a failed
 * load caches nothing.
 */
@RealServers
@ExtendWith(NoBlockingCalls.class)
class PostgresOutageIT {
  private static final Duration WAIT = Duration.ofSeconds(60);

  private final MutableClock clock = new MutableClock();
  private final Catalog catalog;
  private final RedisCacheStore redisStore;
  private final ResilientCacheStore store;
  private final CacheAside<Integer, String> items;
  private final StatefulRedisConnection<String, byte[]> raw;
  private final List<Throwable> loaderErrors = new CopyOnWriteArrayList<>();

  PostgresOutageIT(RedisClient client, ConnectionFactory db) {
    catalog = new Catalog(db, 4).create(30);
    redisStore = RedisCacheStore.create(client);
    // Entries are judged by the store's clock: Redis tells the test's clock, which the test moves.
    store = ResilientCacheStore.builder(ClockedStore.of(redisStore, clock))
        .timeLimit(Duration.ofMillis(500)).build();
    items = CacheAside.<Integer, String>builder("items").store(store).codec(Codec.utf8())
        .clock(clock).ttl(Duration.ofSeconds(10)).staleGrace(Duration.ofMinutes(1))
        .loadDecorator(LoadBulkhead.of("db", 4, Duration.ofSeconds(5)))
        .build();
    raw = client.connect(RedisCacheStore.codec());
  }

  @AfterEach
  void tearDown() {
    raw.close();
    store.close();
    redisStore.close();
    catalog.close();
  }

  private Mono<String> read(int id) {
    return items.cacheAside(id, key -> catalog.load(key).doOnError(loaderErrors::add))
        .subscribeOn(Schedulers.parallel());
  }

  private List<String> readAll(IntStream ids) {
    return Flux.fromStream(ids.boxed()).concatMap(this::read).collectList().block(WAIT);
  }

  private List<byte[]> entries(IntStream ids) {
    RedisCommands<String, byte[]> redis = raw.sync();
    List<byte[]> found = new ArrayList<>();
    ids.forEach(id -> {
      String storeKey = items.storeKey(id).block(WAIT);
      found.add(redis.get(RedisCacheStore.valueKey(storeKey)));
      found.add(redis.get(RedisCacheStore.leaseKey(storeKey)));
    });
    return found;
  }

  @Test
  void postgresStopped_cachedAndStaleServed_uncachedFailWithTheLoadersError_nothingCached(
      TestPostgres postgres) {
    SimpleMeterRegistry meters = new SimpleMeterRegistry();
    CacheAsideMetrics.of(items).bindTo(meters);
    readAll(IntStream.range(0, 10));
    clock.advance(Duration.ofSeconds(15)); // items 0-9: past their TTL, within the grace
    readAll(IntStream.range(10, 20));      // items 10-19: fresh; 20-29 are not cached
    List<byte[]> staleBefore = entries(IntStream.range(0, 10));

    postgres.stop();
    assertThat(readAll(IntStream.range(0, 10))).as("stale-if-error")
        .isEqualTo(IntStream.range(0, 10).mapToObj(id -> "v0-" + id).toList());
    assertThat(items.stats().staleHits()).isEqualTo(10);
    assertThat(meters.get("cache.gets").tags("result", "stale_hit").functionCounter().count())
        .as("stale serves as a metric").isEqualTo(10);
    assertThat(readAll(IntStream.range(10, 20))).as("fresh hits")
        .isEqualTo(IntStream.range(10, 20).mapToObj(id -> "v0-" + id).toList());

    for (int id = 20; id < 30; id++) {
      loaderErrors.clear();
      Throwable error = read(id).map(v -> (Throwable) null)
          .onErrorResume(Mono::just).block(WAIT);
      assertThat(loaderErrors).as("the loader failed for item %d", id).hasSize(1);
      assertThat(error).as("the caller sees the loader's own error").isSameAs(loaderErrors.get(0));
    }
    assertThat(entries(IntStream.range(20, 30))).as("nothing cached, no lease left")
        .containsOnlyNulls();
    assertThat(entries(IntStream.range(0, 10))).as("stale entries untouched")
        .usingElementComparator((a, b) -> Arrays.equals(a, b) ? 0 : 1)
        .containsExactlyElementsOf(staleBefore);

    postgres.start();
    Poll.until("loads to succeed again", WAIT,
        () -> read(20).onErrorResume(e -> Mono.empty()).blockOptional(WAIT).isPresent());
    assertThat(readAll(IntStream.range(20, 30))).allMatch(v -> v.startsWith("v0-"));
  }
}
