package dev.cacheaside.redis;

import dev.cacheaside.testing.MutableClock;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cacheaside.core.spi.CacheStore;
import dev.cacheaside.core.spi.InMemoryCacheStore;
import java.time.Duration;
import org.junit.jupiter.api.BeforeEach;

/**
 * The store contract against core's in-memory store: the reference the Redis store must match.
 * Time is a fake clock, so expiries are checked by moving it.
 */
class InMemoryCacheStoreTest extends CacheStoreContract {
  private static final long START = 1_700_000_000_000L;

  private final MutableClock clock = new MutableClock(START);
  private CacheStore store;

  @BeforeEach
  void createStore() {
    store = InMemoryCacheStore.builder().clock(clock).build();
  }

  @Override
  CacheStore store() {
    return store;
  }

  @Override
  void assertExpiresAfter(String key, Duration ttl) {
    clock.setMillis(START + ttl.toMillis() - 1);
    assertThat(await(store.get(key))).as("%s just before its TTL", key).isNotNull();
    clock.setMillis(START + ttl.toMillis());
    assertThat(await(store.get(key))).as("%s at its TTL", key).isNull();
  }

  @Override
  void awaitLeaseExpiry(String key, Duration leaseTtl) {
    clock.advance(leaseTtl);
  }

  @Override
  Duration shortLeaseTtl() {
    return Duration.ofSeconds(1);
  }
}
