package dev.cacheaside.resilience;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cacheaside.core.CacheAside;
import dev.cacheaside.core.Codec;
import dev.cacheaside.core.NearCache;
import dev.cacheaside.core.spi.InMemoryCacheStore;
import dev.cacheaside.core.spi.StoreState;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Mono;

/**
 * A near cache in front of a {@link ResilientCacheStore}: an open breaker bypasses the local
 * tier, reads and fills alike (invalidations may be held back while it is open), and a closed one
 * brings it back.
 */
class NearCacheOnResilientStoreTest {
  private static final Duration WAIT = Duration.ofSeconds(5);

  @Test
  void openBreaker_bypassesTheLocalTier_closedBreakerUsesItAgain() {
    ResilientCacheStore store = ResilientCacheStore.wrap(InMemoryCacheStore.create());
    CacheAside<String, String> cache = CacheAside.<String, String>builder("r").store(store)
        .codec(Codec.utf8()).nearCache(NearCache.ofEntries(100)).build();
    AtomicInteger loads = new AtomicInteger();
    java.util.function.Supplier<String> read = () -> cache.cacheAside("k", k -> {
      loads.incrementAndGet();
      return Mono.just("v" + loads.get());
    }).block(WAIT);
    read.get();
    read.get();
    assertThat(cache.stats().nearCache().size()).isEqualTo(1);

    store.circuitBreaker().transitionToForcedOpenState();
    assertThat(store.state()).isEqualTo(StoreState.DOWN);
    long nearHits = cache.stats().nearCache().hits();
    assertThat(read.get()).as("the breaker skips the store: the loader answers").isEqualTo("v2");
    assertThat(cache.stats().nearCache().hits()).as("and the tier is not read").isEqualTo(nearHits);

    store.circuitBreaker().transitionToClosedState();
    read.get();
    assertThat(cache.stats().nearCache().hits()).as("closed again: a near hit")
        .isEqualTo(nearHits + 1);
  }
}
