package dev.cacheaside.redis;

import static dev.cacheaside.core.testkit.CacheStoreContract.bytes;
import static org.assertj.core.api.Assertions.assertThat;

import dev.cacheaside.core.CacheAside;
import dev.cacheaside.core.Codec;
import io.lettuce.core.SetArgs;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.core.scheduler.Schedulers;

/** Core's {@link CacheAside} on the Redis store, standalone and cluster. */
class CacheAsideOnRedisIT {
  private static final Duration TIMEOUT = Duration.ofSeconds(30);
  private static final int SUBSCRIBERS = 1_000;

  private final List<AutoCloseable> closeables = new ArrayList<>();
  private RedisFixture fixture;

  @AfterEach
  void close() throws Exception {
    for (AutoCloseable closeable : closeables) {
      closeable.close();
    }
    if (fixture != null) {
      fixture.close();
    }
  }

  private CacheAside<String, String> cache(RedisCacheStore store) {
    return CacheAside.<String, String>builder("e2e")
        .store(store)
        .codec(Codec.utf8())
        .ttl(Duration.ofMinutes(10))
        // Generous, so that callers waiting for another instance's load never give up and load
        // themselves on a slow machine: the test is about counting loads.
        .leaseTtl(Duration.ofSeconds(30))
        .leaseWait(Duration.ofSeconds(30))
        .build();
  }

  /**
   * {@link #SUBSCRIBERS} callers, subscribed concurrently on the parallel scheduler, read one
   * cold key through {@code caches} (round robin); the load is held until every caller has
   * subscribed, so all of them arrive while it is in flight.
   */
  private List<String> stampede(List<CacheAside<String, String>> caches, AtomicInteger loads) {
    Sinks.Empty<Void> gate = Sinks.empty();
    AtomicInteger subscribed = new AtomicInteger();
    return Flux.range(0, SUBSCRIBERS)
        .flatMap(i -> caches.get(i % caches.size())
            .cacheAside("cold", key -> {
              loads.incrementAndGet();
              return gate.asMono().thenReturn("loaded:" + key);
            })
            .doOnSubscribe(s -> {
              if (subscribed.incrementAndGet() == SUBSCRIBERS) {
                gate.tryEmitEmpty();
              }
            })
            .subscribeOn(Schedulers.parallel()), SUBSCRIBERS)
        .collectList()
        .block(TIMEOUT);
  }

  @ParameterizedTest
  @EnumSource(RedisFixture.Topology.class)
  void stampede_onOneColdKey_loadsOnce(RedisFixture.Topology topology) {
    fixture = topology.open();
    CacheAside<String, String> cache = cache(fixture.store);
    AtomicInteger loads = new AtomicInteger();

    List<String> values = stampede(List.of(cache), loads);

    assertThat(loads).as("loader calls").hasValue(1);
    assertThat(values).hasSize(SUBSCRIBERS).containsOnly("loaded:cold");
    assertThat(fixture.raw.exists(RedisCacheStore.valueKey("e2e:cold"))).isEqualTo(1);
  }

  @ParameterizedTest
  @EnumSource(RedisFixture.Topology.class)
  void stampede_acrossTwoInstances_loadsOnce_throughTheLease(RedisFixture.Topology topology) {
    fixture = topology.open();
    // A second store on its own connection stands for a second application instance: it shares
    // nothing with the first but Redis.
    RedisFixture second = topology == RedisFixture.Topology.STANDALONE
        ? RedisFixture.standalone(dev.cacheaside.testing.TestRedis.get().client())
        : RedisFixture.cluster(dev.cacheaside.testing.TestRedisCluster.get().client());
    closeables.add(second);
    AtomicInteger loads = new AtomicInteger();

    List<String> values = stampede(List.of(cache(fixture.store), cache(second.store)), loads);

    assertThat(loads).as("loader calls across both instances").hasValue(1);
    assertThat(values).hasSize(SUBSCRIBERS).containsOnly("loaded:cold");
  }

  @ParameterizedTest
  @EnumSource(RedisFixture.Topology.class)
  void corruptEntry_isAMiss_isDeleted_andTheLoaderAnswers(RedisFixture.Topology topology) {
    fixture = topology.open();
    CacheAside<String, String> cache = cache(fixture.store);
    String valueKey = RedisCacheStore.valueKey("e2e:1");
    fixture.raw.set(valueKey, bytes("not an envelope"), SetArgs.Builder.px(600_000));
    AtomicInteger loads = new AtomicInteger();
    AtomicLong existedDuringLoad = new AtomicLong(-1);

    String value = cache.cacheAside("1", key -> {
      loads.incrementAndGet();
      // Non-blocking look at Redis from inside the load: the corrupt entry must be gone by now.
      return fixture.rawReactive.exists(valueKey)
          .doOnNext(existedDuringLoad::set)
          .thenReturn("fresh:" + key);
    }).block(TIMEOUT);

    assertThat(value).isEqualTo("fresh:1");
    assertThat(existedDuringLoad).as("the corrupt entry was deleted before the load").hasValue(0);
    assertThat(cache.stats().corruptEntries()).isEqualTo(1);
    byte[] stored = fixture.raw.get(valueKey);
    assertThat(stored[0]).as("an envelope replaced the garbage").isEqualTo((byte) 0xCA);
    assertThat(cache.cacheAside("1", key -> Mono.error(new AssertionError("loaded again")))
        .block(TIMEOUT)).as("the next read is a hit").isEqualTo("fresh:1");
    assertThat(loads).hasValue(1);
  }

  @ParameterizedTest
  @EnumSource(RedisFixture.Topology.class)
  void ttlWithJitter_staysWithinItsBounds(RedisFixture.Topology topology) {
    fixture = topology.open();
    Duration ttl = Duration.ofSeconds(100);
    double jitter = 0.10;
    CacheAside<String, String> cache = CacheAside.<String, String>builder("jitter")
        .store(fixture.store).codec(Codec.utf8()).ttl(ttl).ttlJitter(jitter).build();
    int keys = 30;

    Flux.range(0, keys).flatMap(i -> cache.cacheAside("k" + i, k -> Mono.just("v" + k)))
        .then().block(TIMEOUT);

    long min = Math.round(ttl.toMillis() * (1 - jitter));
    long max = Math.round(ttl.toMillis() * (1 + jitter));
    Set<Long> pttls = new HashSet<>();
    for (int i = 0; i < keys; i++) {
      long pttl = fixture.raw.pttl(RedisCacheStore.valueKey("jitter:k" + i));
      // PTTL counts down from the TTL set; the slack covers the time since the write.
      assertThat(pttl).as("PTTL of key %d", i).isBetween(min - 5_000, max);
      pttls.add(pttl / 1_000);
    }
    assertThat(pttls).as("jitter spreads expiries (seconds left, %d keys)", keys).hasSizeGreaterThan(1);
  }
}
