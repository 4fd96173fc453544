package dev.cacheaside.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cacheaside.core.BulkLoader;
import dev.cacheaside.core.CacheAside;
import dev.cacheaside.core.Codec;
import dev.cacheaside.core.EarlyRefresh;
import dev.cacheaside.core.testkit.ClockedStore;
import dev.cacheaside.redis.RedisFixture.Topology;
import dev.cacheaside.testing.MutableClock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;
import reactor.test.StepVerifier;

/**
 * Issue 7, early refresh, where only a real Redis can show it: the refresh path under BlockHound
 * with Lettuce's threads in play. The refresh behaviour every store shares (hot key, invalidation
 * during a refresh, backoff, bulk refresh) runs in {@link RedisScenariosIT}.
 */
class EarlyRefreshIT {
  private final List<RedisFixture> fixtures = new ArrayList<>();

  @AfterEach
  void close() {
    fixtures.forEach(RedisFixture::close);
  }

  private RedisFixture fixture(Topology topology) {
    RedisFixture fixture = topology.open();
    fixtures.add(fixture);
    return fixture;
  }

  private RedisFixture connect(Topology topology) {
    RedisFixture fixture = topology == Topology.STANDALONE
        ? RedisFixture.standalone(dev.cacheaside.testing.TestRedis.get().client())
        : RedisFixture.cluster(dev.cacheaside.testing.TestRedisCluster.get().client());
    fixtures.add(fixture);
    return fixture;
  }

  /**
   * BlockHound is installed in this JVM: hits, misses, bulk reads, invalidations and writes on
   * parallel threads, refreshes (single-key and bulk) started on the default (parallel) refresh
   * scheduler, all against Redis.
   */
  @Test
  void refreshPath_onRealRedis_neverBlocks() {
    MutableClock clock = new MutableClock(System.currentTimeMillis());
    List<CacheAside<Integer, String>> caches = new ArrayList<>();
    for (int i = 0; i < 2; i++) {
      RedisFixture fixture = i == 0 ? fixture(Topology.STANDALONE) : connect(Topology.STANDALONE);
      // The test moves a fake clock; Redis's own clock (TIME), which the cache learns with each
      // generation read, would not follow it, and entries would age only between two reads.
      caches.add(CacheAside.<Integer, String>builder("nb")
          .store(ClockedStore.of(fixture.store, clock))
          .codec(Codec.utf8()).clock(clock).ttl(Duration.ofSeconds(5))
          .staleGrace(Duration.ofSeconds(5)).earlyRefresh(EarlyRefresh.ahead(0.2))
          .refreshBackoff(Duration.ofMillis(1), Duration.ofMillis(5)).build());
    }
    Function<Integer, Mono<String>> loader =
        k -> Mono.delay(Duration.ofMillis(1)).thenReturn("v" + k);
    BulkLoader<Integer, String> bulk = ks -> Mono.delay(Duration.ofMillis(1))
        .then(Flux.fromIterable(ks).collectMap(k -> k, k -> "v" + k));
    // 700 ms of entry time per round: entries become due after 1 s, stale after 5 s
    for (int round = 0; round < 12; round++) {
      Flux<String> work = Flux.range(0, 200).flatMap(i -> {
        CacheAside<Integer, String> cache = caches.get(i % 2);
        int key = i % 20;
        Mono<String> read = cache.cacheAside(key, loader);
        Mono<String> op = i % 53 == 0 ? cache.invalidate(key).then(read)
            : i % 71 == 0 ? cache.writeThenInvalidate(key, Mono.just("w"))
            : i % 7 == 0 ? cache.cacheAsideAll(Flux.range(key, 5), bulk).then(Mono.just("b"))
            : read;
        return op.subscribeOn(Schedulers.parallel());
      }, 32);
      StepVerifier.create(work.then()).verifyComplete();
      clock.advance(Duration.ofMillis(700));
    }
    assertThat(caches.stream().mapToLong(c -> c.stats().refreshes()).sum()).isPositive();
    for (CacheAside<Integer, String> cache : caches) {
      assertThat(cache.stats().refreshFailures()).as("no refresh hit BlockHound").isZero();
      assertThat(cache.stats().loadFailures()).isZero();
      assertThat(cache.stats().storeErrors()).isZero();
    }
  }
}
