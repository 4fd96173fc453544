package dev.cacheaside.examples.demo;

import dev.cacheaside.core.spi.CacheStore;
import dev.cacheaside.core.spi.ForwardingCacheStore;
import java.util.concurrent.atomic.LongAdder;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * Counts the store round trips the library makes, by kind, so the demo can show them: a decorator
 * of the store SPI, not a mock of Redis (every call still goes to the real server).
 */
final class CountingStore extends ForwardingCacheStore {
  final LongAdder singleReads = new LongAdder();
  final LongAdder multiGets = new LongAdder();
  final LongAdder multiLeases = new LongAdder();
  final LongAdder batchedStores = new LongAdder();

  CountingStore(CacheStore delegate) {
    super(delegate);
  }

  /** The counter of a kind of round trip, or null for the kinds the demo does not show. */
  private @Nullable LongAdder counter(Operation operation) {
    return switch (operation) {
      case GET, GET_OR_LEASE -> singleReads;
      case GET_ALL -> multiGets;
      case GET_OR_LEASE_ALL -> multiLeases;
      case SET_ALL, SET_ALL_IF_LEASED -> batchedStores;
      default -> null;
    };
  }

  @Override
  protected <T> Mono<T> around(Operation operation, Mono<T> call) {
    LongAdder counter = counter(operation);
    return counter == null ? call : Mono.defer(() -> {
      counter.increment();
      return call;
    });
  }

  @Override
  protected <T> Flux<T> aroundMany(Operation operation, Flux<T> call) {
    LongAdder counter = counter(operation);
    return counter == null ? call : Flux.defer(() -> {
      counter.increment();
      return call;
    });
  }
}
