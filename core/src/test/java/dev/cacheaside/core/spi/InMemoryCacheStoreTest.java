package dev.cacheaside.core.spi;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cacheaside.core.testkit.CacheStoreContract;
import dev.cacheaside.testing.MutableClock;
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
  protected CacheStore store() {
    return store;
  }

  @Override
  protected void assertExpiresAfter(String key, Duration ttl) {
    clock.setMillis(START + ttl.toMillis() - 1);
    assertThat(await(store.get(key))).as("%s just before its TTL", key).isNotNull();
    clock.setMillis(START + ttl.toMillis());
    assertThat(await(store.get(key))).as("%s at its TTL", key).isNull();
  }

  @Override
  protected void awaitLeaseExpiry(String key, Duration leaseTtl) {
    clock.advance(leaseTtl);
  }

  @Override
  protected Duration shortLeaseTtl() {
    return Duration.ofSeconds(1);
  }
}
