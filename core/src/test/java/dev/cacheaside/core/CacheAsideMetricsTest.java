package dev.cacheaside.core;

import dev.cacheaside.core.spi.InMemoryCacheStore;
import dev.cacheaside.core.stats.CacheAsideMetrics;
import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Mono;

class CacheAsideMetricsTest {

  @Test
  void metrics_readTheSameCountersAsStats() {
    CacheAside<String, String> cache = CacheAside.<String, String>builder("products")
        .store(InMemoryCacheStore.create()).codec(Codec.utf8()).build();
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    CacheAsideMetrics.of(cache).bindTo(registry);
    cache.cacheAside("a", k -> Mono.just("1")).block();
    cache.cacheAside("a", k -> Mono.just("1")).block();
    cache.cacheAside("b", k -> Mono.empty()).block();
    cache.cacheAside("b", k -> Mono.empty()).block();

    assertThat(registry.get("cache.gets").tags("cache", "products", "result", "hit")
        .functionCounter().count()).isEqualTo(1.0);
    assertThat(registry.get("cache.gets").tags("result", "miss").functionCounter().count())
        .isEqualTo(2.0);
    assertThat(registry.get("cache.gets").tags("result", "negative_hit").functionCounter().count())
        .isEqualTo(1.0);
    assertThat(registry.get("cache.loads").tags("result", "success").functionCounter().count())
        .isEqualTo(2.0);
    assertThat(registry.get("cache.load.duration").functionCounter().count()).isPositive();
  }

  @Test
  void nearCacheMeters_readTheNearCacheStats() {
    InMemoryCacheStore store = InMemoryCacheStore.create();
    CacheAside<String, String> cache = CacheAside.<String, String>builder("products")
        .store(store).codec(Codec.utf8()).nearCache(NearCache.ofEntries(10)).build();
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    CacheAsideMetrics.of(cache).bindTo(registry);
    for (int i = 0; i < 3; i++) {
      cache.cacheAside("a", k -> Mono.just("1")).block();
    }
    cache.bumpGeneration().block();

    assertThat(registry.get("cache.near.gets").tags("result", "hit").functionCounter().count())
        .isEqualTo(1.0);
    assertThat(registry.get("cache.near.gets").tags("result", "miss").functionCounter().count())
        .isEqualTo(2.0);
    assertThat(registry.get("cache.near.invalidation.messages").functionCounter().count())
        .isPositive();
    assertThat(registry.get("cache.near.flushes").functionCounter().count()).isPositive();
    assertThat(registry.get("cache.near.size").gauge().value()).isZero();
    assertThat(registry.get("cache.near.bypassing").gauge().value()).isZero();
  }
}
