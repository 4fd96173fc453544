package dev.cacheaside.core;

import dev.cacheaside.core.spi.CacheStore;
import dev.cacheaside.core.spi.ForwardingCacheStore;
import java.util.concurrent.atomic.AtomicInteger;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * A store that fails every call while {@link #failing} is set, and counts the subscriptions to
 * {@code get} and to {@code delete}.
 */
final class FaultyStore extends ForwardingCacheStore {
  volatile boolean failing;
  final AtomicInteger gets = new AtomicInteger();
  final AtomicInteger deletes = new AtomicInteger();

  FaultyStore(CacheStore delegate) {
    super(delegate);
  }

  @Override
  protected <T> Mono<T> around(Operation operation, Mono<T> call) {
    Mono<T> guarded = Mono.defer(() -> failing ? Mono.error(down()) : call);
    return switch (operation) {
      case GET -> guarded.doOnSubscribe(s -> gets.incrementAndGet());
      case DELETE -> guarded.doOnSubscribe(s -> deletes.incrementAndGet());
      default -> guarded;
    };
  }

  @Override
  protected <T> Flux<T> aroundMany(Operation operation, Flux<T> call) {
    return Flux.defer(() -> failing ? Flux.error(down()) : call);
  }

  private static IllegalStateException down() {
    return new IllegalStateException("store is down");
  }
}
