package dev.cacheaside.examples.batch;

import dev.cacheaside.core.spi.CacheStore;
import dev.cacheaside.core.spi.ForwardingCacheStore;
import java.util.concurrent.atomic.LongAdder;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * Counts the calls made to a cache store, each one command, script or pipeline: on a standalone
 * Redis, one round trip (a cluster splits multi-key calls by slot). Redis's own
 * {@code total_commands_processed} would count the commands run inside the lease scripts too,
 * several per key, which is not what a round trip costs. Every method of the SPI goes through the
 * two hooks of {@link ForwardingCacheStore}, so none goes uncounted.
 */
final class CountingStore extends ForwardingCacheStore {
  private final LongAdder calls = new LongAdder();

  CountingStore(CacheStore delegate) {
    super(delegate);
  }

  long calls() {
    return calls.sum();
  }

  @Override
  protected <T> Mono<T> around(Operation operation, Mono<T> call) {
    return Mono.defer(() -> {
      calls.increment();
      return call;
    });
  }

  @Override
  protected <T> Flux<T> aroundMany(Operation operation, Flux<T> call) {
    return Flux.defer(() -> {
      calls.increment();
      return call;
    });
  }
}
