package dev.cacheaside.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cacheaside.core.CacheAside;
import dev.cacheaside.core.Codec;
import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * What only Redis shows of core's {@link CacheAside}: the TTLs it gives Redis. The behaviour
 * every store shares runs in {@link RedisScenariosIT}.
 */
class CacheAsideOnRedisIT {
  private static final Duration TIMEOUT = Duration.ofSeconds(30);

  private RedisFixture fixture;

  @AfterEach
  void close() {
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
      long pttl = fixture.raw.pttl(RedisCacheStore.valueKey("jitter:k" + i));
      // PTTL counts down from the TTL set; the slack covers the time since the write.
      assertThat(pttl).as("PTTL of key %d", i).isBetween(min - 5_000, max);
      pttls.add(pttl / 1_000);
    }
    assertThat(pttls).as("jitter spreads expiries (seconds left, %d keys)", keys).hasSizeGreaterThan(1);
  }
}
