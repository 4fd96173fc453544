package dev.cacheaside.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cacheaside.core.CacheAside;
import dev.cacheaside.core.Codec;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * What only Redis shows of core's {@link CacheAside}: the TTLs it gives Redis, Redis's own clock
 * judging entries, and generations that outlive a flush. The behaviour every store shares runs
 * in {@link RedisScenariosIT} (where the stores tell a fake clock instead of Redis's).
 */
class CacheAsideOnRedisIT {
  private static final Duration TIMEOUT = Duration.ofSeconds(30);

  private RedisFixture fixture;
  private final List<RedisCacheStore> closeAfter = new ArrayList<>();

  @AfterEach
  void close() {
    closeAfter.forEach(RedisCacheStore::close);
    if (fixture != null) {
      fixture.close();
    }
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
      long pttl = fixture.raw.pttl(RedisCacheStore.valueKey(cache.storeKey("k" + i).block()));
      // PTTL counts down from the TTL set; the slack covers the time since the write.
      assertThat(pttl).as("PTTL of key %d", i).isBetween(min - 5_000, max);
      pttls.add(pttl / 1_000);
    }
    assertThat(pttls).as("jitter spreads expiries (seconds left, %d keys)", keys).hasSizeGreaterThan(1);
  }

  /**
   * Two instances whose clocks are ten minutes apart share entries with a one-minute TTL: each
   * stamps and judges entries by Redis's clock (TIME), so neither finds the other's fresh entries
   * stale, and neither reloads them.
   */
  @ParameterizedTest
  @EnumSource(RedisFixture.Topology.class)
  void clocksMinutesApart_neitherReloadsTheOthersFreshEntries(RedisFixture.Topology topology) {
    fixture = topology.open();
    Clock behind = Clock.systemUTC();
    Clock ahead = Clock.offset(behind, Duration.ofMinutes(10));
    CacheAside<String, String> early = skewed(topology, ahead);
    CacheAside<String, String> late = skewed(topology, behind);
    AtomicInteger loads = new AtomicInteger();
    Function<String, Mono<String>> loader = key -> {
      loads.incrementAndGet();
      return Mono.just("v" + key);
    };

    Flux.range(0, 10).concatMap(i -> late.cacheAside("late" + i, loader)).then().block(TIMEOUT);
    Flux.range(0, 10).concatMap(i -> early.cacheAside("early" + i, loader)).then()
        .block(TIMEOUT);
    assertThat(loads).as("each key loaded once, by the instance that read it first").hasValue(20);

    for (int i = 0; i < 10; i++) {
      assertThat(early.cacheAside("late" + i, loader).block(TIMEOUT)).isEqualTo("vlate" + i);
      assertThat(late.cacheAside("early" + i, loader).block(TIMEOUT)).isEqualTo("vearly" + i);
    }
    assertThat(loads).as("no fresh entry reloaded by the other instance").hasValue(20);
    assertThat(early.stats().hits()).isEqualTo(10);
    assertThat(late.stats().hits()).isEqualTo(10);
    assertThat(early.stats().staleHits() + late.stats().staleHits()).isZero();
  }

  private CacheAside<String, String> skewed(RedisFixture.Topology topology, Clock clock) {
    RedisCacheStore store = topology.newStore();
    closeAfter.add(store);
    return CacheAside.<String, String>builder("skew").store(store).codec(Codec.utf8())
        .ttl(Duration.ofMinutes(1)).clock(clock).build();
  }

  /**
   * Redis loses its keys, generation counters with them (FLUSHALL, or a restart without
   * persistence), while an instance still remembers the old generation and writes under it. A
   * later invalidation must not bring those entries back: a generation is never given out twice.
   */
  @ParameterizedTest
  @EnumSource(RedisFixture.Topology.class)
  void generationLostByRedis_entriesWrittenUnderTheOldOne_neverServedAfterAnInvalidation(
      RedisFixture.Topology topology) {
    fixture = topology.open();
    CacheAside<String, String> remembering = lostInstance(topology);
    await(remembering.bumpGeneration());
    assertThat(remembering.cacheAside("k", key -> Mono.just("cached")).block(TIMEOUT))
        .isEqualTo("cached");

    fixture.flushAll();
    // Still on the generation it remembers (its refresh interval is an hour): it loads the old
    // row again and writes it under that generation.
    assertThat(remembering.cacheAside("k", key -> Mono.just("old row")).block(TIMEOUT))
        .isEqualTo("old row");

    CacheAside<String, String> writer = lostInstance(topology);
    await(writer.bumpGeneration());
    CacheAside<String, String> reader = lostInstance(topology);
    assertThat(reader.cacheAside("k", key -> Mono.just("new row")).block(TIMEOUT))
        .as("the entry written under the lost generation stays unreachable")
        .isEqualTo("new row");
  }

  private CacheAside<String, String> lostInstance(RedisFixture.Topology topology) {
    RedisCacheStore store = topology.newStore();
    closeAfter.add(store);
    return CacheAside.<String, String>builder("lost").store(store).codec(Codec.utf8())
        .generationRefresh(Duration.ofHours(1)).build();
  }

  private static <T> T await(Mono<T> mono) {
    return mono.block(TIMEOUT);
  }
}
