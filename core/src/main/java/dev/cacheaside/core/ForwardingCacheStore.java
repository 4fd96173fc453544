package dev.cacheaside.core;

import java.time.Duration;
import java.util.Collection;
import java.util.Map;
import java.util.Objects;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * A {@link CacheStore} that forwards every call to another; extend it to decorate a store
 * (resilience, metrics, counting, fault injection) by overriding only what the decorator changes.
 *
 * <pre>{@code
 * CacheStore counted = new ForwardingCacheStore(store) {
 *   @Override public Mono<Map<String, byte[]>> getAll(Collection<String> keys) {
 *     multiGets.increment();
 *     return super.getAll(keys);
 *   }
 * };
 * }</pre>
 */
public abstract class ForwardingCacheStore implements CacheStore {
  private final CacheStore delegate;

  /** Forwards to {@code delegate}. */
  protected ForwardingCacheStore(CacheStore delegate) {
    this.delegate = Objects.requireNonNull(delegate, "delegate must not be null");
  }

  /** The store calls are forwarded to. */
  protected CacheStore delegate() {
    return delegate;
  }

  @Override
  public Mono<byte[]> get(String key) {
    return delegate.get(key);
  }

  @Override
  public Mono<Map<String, byte[]>> getAll(Collection<String> keys) {
    return delegate.getAll(keys);
  }

  @Override
  public Mono<Void> set(String key, byte[] value, Duration ttl) {
    return delegate.set(key, value, ttl);
  }

  @Override
  public Mono<Void> setAll(Collection<StoreEntry> entries) {
    return delegate.setAll(entries);
  }

  @Override
  public Mono<Void> delete(Collection<String> keys) {
    return delegate.delete(keys);
  }

  @Override
  public Mono<Void> delete(String key) {
    return delegate.delete(key);
  }

  @Override
  public Mono<StoreLookup> getOrLease(String key, Duration leaseTtl) {
    return delegate.getOrLease(key, leaseTtl);
  }

  @Override
  public Flux<KeyedLookup> getOrLeaseAll(Collection<String> keys, Duration leaseTtl) {
    return delegate.getOrLeaseAll(keys, leaseTtl);
  }

  @Override
  public Mono<String> tryLease(String key, Duration leaseTtl) {
    return delegate.tryLease(key, leaseTtl);
  }

  @Override
  public Mono<Boolean> setIfLeased(String key, String token, byte[] value, Duration ttl) {
    return delegate.setIfLeased(key, token, value, ttl);
  }

  @Override
  public Flux<String> setAllIfLeased(Collection<LeasedEntry> entries) {
    return delegate.setAllIfLeased(entries);
  }

  @Override
  public Mono<Void> releaseLease(String key, String token) {
    return delegate.releaseLease(key, token);
  }

  @Override
  public Mono<Long> increment(String key) {
    return delegate.increment(key);
  }

  @Override
  public String toString() {
    return getClass().getSimpleName() + "[" + delegate + "]";
  }
}
