package dev.cacheaside.core.testkit;

import dev.cacheaside.core.spi.CacheStore;
import dev.cacheaside.core.spi.ForwardingCacheStore;
import java.time.Clock;
import reactor.core.publisher.Mono;

/**
 * A store whose clock ({@link CacheStore#time}) is a test's clock: entries are stamped and judged
 * by the store's clock, so a test that moves time for a store with a clock of its own (Redis)
 * gives the store its clock this way.
 */
public final class ClockedStore extends ForwardingCacheStore {
  private final Clock clock;

  private ClockedStore(CacheStore delegate, Clock clock) {
    super(delegate);
    this.clock = clock;
  }

  /** {@code store}, telling {@code clock}'s time as its own. */
  public static CacheStore of(CacheStore store, Clock clock) {
    return new ClockedStore(store, clock);
  }

  @Override
  public Mono<Long> time(String namespace) {
    return Mono.fromSupplier(clock::millis);
  }
}
