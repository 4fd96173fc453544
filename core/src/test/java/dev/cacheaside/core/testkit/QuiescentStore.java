package dev.cacheaside.core.testkit;

import dev.cacheaside.core.spi.CacheStore;
import dev.cacheaside.core.spi.ForwardingCacheStore;
import dev.cacheaside.testing.Poll;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * A store decorator that counts the operations in flight, shared by every instance of a test, so
 * a test can wait until background work (a refresh's lease, store or release) has reached the
 * store and come back before it moves its fake clock on. The count drops after the operation's
 * result has been handled downstream, so at zero the caller's next step has been taken too (a
 * read's flight, for one, has left the in-flight map).
 */
public final class QuiescentStore extends ForwardingCacheStore {
  private final AtomicInteger pending;

  /** Counts the operations on {@code delegate} in {@code pending}, which stores may share. */
  public QuiescentStore(CacheStore delegate, AtomicInteger pending) {
    super(delegate);
    this.pending = pending;
  }

  /** Waits (bounded polling) until no operation of any store sharing {@code pending} runs. */
  public static void awaitQuiet(AtomicInteger pending) {
    Poll.until("store operations finishing", Duration.ofSeconds(10), () -> pending.get() == 0);
  }

  @Override
  protected <T> Mono<T> around(Operation operation, Mono<T> call) {
    return call.doOnSubscribe(s -> pending.incrementAndGet())
        .doFinally(signal -> pending.decrementAndGet());
  }

  @Override
  protected <T> Flux<T> aroundMany(Operation operation, Flux<T> call) {
    return call.doOnSubscribe(s -> pending.incrementAndGet())
        .doFinally(signal -> pending.decrementAndGet());
  }
}
