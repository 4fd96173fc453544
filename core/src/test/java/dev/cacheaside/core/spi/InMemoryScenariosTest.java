package dev.cacheaside.core.spi;

import dev.cacheaside.core.testkit.CacheAsideScenarios;
import java.time.Clock;
import org.jspecify.annotations.Nullable;

/**
 * The scenario suite on the in-memory store: every instance of a test shares one store, which
 * keeps time by the test's clock (so entries and leases expire when the test moves it).
 */
class InMemoryScenariosTest extends CacheAsideScenarios {
  private @Nullable InMemoryCacheStore store;

  @Override
  protected CacheStore instanceStore(Clock clock) {
    if (store == null) {
      store = InMemoryCacheStore.builder().clock(clock).build();
    }
    return store;
  }

  @Override
  protected boolean expiresByTheGivenClock() {
    return true;
  }
}
