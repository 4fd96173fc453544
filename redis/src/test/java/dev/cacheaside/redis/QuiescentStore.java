package dev.cacheaside.redis;

import dev.cacheaside.core.CacheStore;
import dev.cacheaside.core.ForwardingCacheStore;
import dev.cacheaside.core.StoreLookup;
import java.time.Duration;
import java.util.Collection;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * A store decorator that counts the operations in flight, shared by every instance of a test, so
 * a test can wait until background work (a refresh's lease, store or release) has reached Redis
 * and come back before it moves its fake clock on. The count drops after the operation's result
 * has been handled downstream, so at zero the caller's next step has been taken too (a read's
 * flight, for one, has left the in-flight map).
 */
final class QuiescentStore extends ForwardingCacheStore {
  private final AtomicInteger pending;

  QuiescentStore(CacheStore delegate, AtomicInteger pending) {
    super(delegate);
    this.pending = pending;
  }

  /** Waits (bounded polling) until no operation of any store sharing {@code pending} runs. */
  static void awaitQuiet(AtomicInteger pending) {
    RedisFixture.poll("store operations finishing", Duration.ofSeconds(10),
        () -> Mono.fromSupplier(() -> pending.get() == 0));
  }

  private <T> Mono<T> counted(Mono<T> operation) {
    return operation.doOnSubscribe(s -> pending.incrementAndGet())
        .doFinally(signal -> pending.decrementAndGet());
  }

  private <T> Flux<T> counted(Flux<T> operation) {
    return operation.doOnSubscribe(s -> pending.incrementAndGet())
        .doFinally(signal -> pending.decrementAndGet());
  }

  @Override
  public Mono<byte[]> get(String key) {
    return counted(super.get(key));
  }

  @Override
  public Mono<Map<String, byte[]>> getAll(Collection<String> keys) {
    return counted(super.getAll(keys));
  }

  @Override
  public Mono<Void> set(String key, byte[] value, Duration ttl) {
    return counted(super.set(key, value, ttl));
  }

  @Override
  public Mono<Void> setAll(Collection<StoreEntry> entries) {
    return counted(super.setAll(entries));
  }

  @Override
  public Mono<Void> delete(Collection<String> keys) {
    return counted(super.delete(keys));
  }

  @Override
  public Mono<Void> delete(String key) {
    return counted(super.delete(key));
  }

  @Override
  public Mono<StoreLookup> getOrLease(String key, Duration leaseTtl) {
    return counted(super.getOrLease(key, leaseTtl));
  }

  @Override
  public Flux<KeyedLookup> getOrLeaseAll(Collection<String> keys, Duration leaseTtl) {
    return counted(super.getOrLeaseAll(keys, leaseTtl));
  }

  @Override
  public Mono<String> tryLease(String key, Duration leaseTtl) {
    return counted(super.tryLease(key, leaseTtl));
  }

  @Override
  public Mono<Boolean> setIfLeased(String key, String token, byte[] value, Duration ttl) {
    return counted(super.setIfLeased(key, token, value, ttl));
  }

  @Override
  public Flux<String> setAllIfLeased(Collection<LeasedEntry> entries) {
    return counted(super.setAllIfLeased(entries));
  }

  @Override
  public Mono<Void> releaseLease(String key, String token) {
    return counted(super.releaseLease(key, token));
  }

  @Override
  public Mono<Long> increment(String key) {
    return counted(super.increment(key));
  }
}
