package dev.cacheaside.core.spi;

import java.time.Duration;
import java.util.Collection;
import java.util.Map;
import java.util.Objects;
import org.jspecify.annotations.Nullable;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * A {@link CacheStore} that forwards every call to another; extend it to decorate a store
 * (resilience, metrics, counting, fault injection).
 *
 * <p>Every forwarding method passes the delegate's answer through {@link #around} (calls answering
 * a {@link Mono}) or {@link #aroundMany} (calls answering a {@link Flux}), so a decorator that
 * treats all calls alike (counts them, fails them, holds them) overrides one or both hooks instead
 * of every method. A decorator that needs a call's arguments overrides that method, as before:
 *
 * <pre>{@code
 * CacheStore counted = new ForwardingCacheStore(store) {
 *   @Override protected <T> Mono<T> around(Operation operation, Mono<T> call) {
 *     return operation == Operation.GET_ALL
 *         ? call.doOnSubscribe(s -> multiGets.increment()) : call;
 *   }
 * };
 * }</pre>
 *
 * @since 0.1
 */
public abstract class ForwardingCacheStore implements CacheStore {
  private final CacheStore delegate;

  /**
   * The {@link CacheStore} call a hook is given, one constant per method ({@link #DELETE} for both
   * overloads of {@code delete}).
   *
   * @since 0.1
   */
  public enum Operation {
    /** {@link CacheStore#get}. */
    GET,
    /** {@link CacheStore#getAll}. */
    GET_ALL,
    /** {@link CacheStore#set}. */
    SET,
    /** {@link CacheStore#setAll}. */
    SET_ALL,
    /** {@link CacheStore#delete(String)} and {@link CacheStore#delete(Collection)}. */
    DELETE,
    /** {@link CacheStore#getOrLease}. */
    GET_OR_LEASE,
    /** {@link CacheStore#getOrLeaseAll}; goes through {@link #aroundMany}. */
    GET_OR_LEASE_ALL,
    /** {@link CacheStore#tryLease}. */
    TRY_LEASE,
    /** {@link CacheStore#setIfLeased}. */
    SET_IF_LEASED,
    /** {@link CacheStore#setAllIfLeased}; goes through {@link #aroundMany}. */
    SET_ALL_IF_LEASED,
    /** {@link CacheStore#releaseLease}. */
    RELEASE_LEASE,
    /** {@link CacheStore#generation}. */
    GENERATION,
    /** {@link CacheStore#bumpGeneration}. */
    BUMP_GENERATION,
    /** {@link CacheStore#ping}. */
    PING,
    /** {@link CacheStore#time}. */
    TIME
  }

  /** Forwards to {@code delegate}. */
  protected ForwardingCacheStore(CacheStore delegate) {
    this.delegate = Objects.requireNonNull(delegate, "delegate must not be null");
  }

  /** The store calls are forwarded to. */
  protected CacheStore delegate() {
    return delegate;
  }

  /**
   * Decorates one forwarded call that answers a {@link Mono}: every such method of this class
   * returns {@code around(operation, delegate().method(...))}. By default returns {@code call}.
   *
   * <p>It exists so that a decorator that does the same to every call (count subscriptions, fail
   * on demand, track calls in flight) is one method, not thirteen that each forget none. The
   * hook runs when the method is called, once per call; {@code call} has been assembled by the
   * delegate but not subscribed, so the decorator may wrap it, defer it, subscribe it later or
   * more than once (a retry), or replace it (an error, {@code Mono.never()}). Whatever it returns
   * is what the caller gets, and it must not block.
   *
   * @param operation which {@link CacheStore} method is being forwarded
   * @param call the delegate's answer, not yet subscribed
   * @param <T> the call's element type
   * @return the publisher the caller receives
   */
  protected <T> Mono<T> around(Operation operation, Mono<T> call) {
    return call;
  }

  /**
   * {@link #around} for the calls that answer a {@link Flux} ({@link Operation#GET_OR_LEASE_ALL},
   * {@link Operation#SET_ALL_IF_LEASED}). By default returns {@code call}; a decorator that
   * overrides {@code around} usually overrides this too, or those calls pass undecorated.
   *
   * @param operation which {@link CacheStore} method is being forwarded
   * @param call the delegate's answer, assembled but not yet subscribed
   * @param <T> the call's element type
   * @return the publisher the caller receives
   */
  protected <T> Flux<T> aroundMany(Operation operation, Flux<T> call) {
    return call;
  }

  @Override
  public Mono<byte[]> get(String key) {
    return around(Operation.GET, delegate.get(key));
  }

  @Override
  public Mono<Map<String, byte[]>> getAll(Collection<String> keys) {
    return around(Operation.GET_ALL, delegate.getAll(keys));
  }

  @Override
  public Mono<Void> set(String key, byte[] value, Duration ttl) {
    return around(Operation.SET, delegate.set(key, value, ttl));
  }

  @Override
  public Mono<Void> setAll(Collection<StoreEntry> entries) {
    return around(Operation.SET_ALL, delegate.setAll(entries));
  }

  @Override
  public Mono<Void> delete(Collection<String> keys) {
    return around(Operation.DELETE, delegate.delete(keys));
  }

  @Override
  public Mono<Void> delete(String key) {
    return around(Operation.DELETE, delegate.delete(key));
  }

  @Override
  public Mono<StoreLookup> getOrLease(String key, Duration leaseTtl) {
    return around(Operation.GET_OR_LEASE, delegate.getOrLease(key, leaseTtl));
  }

  @Override
  public Flux<KeyedLookup> getOrLeaseAll(Collection<String> keys, Duration leaseTtl) {
    return aroundMany(Operation.GET_OR_LEASE_ALL, delegate.getOrLeaseAll(keys, leaseTtl));
  }

  @Override
  public Mono<String> tryLease(String key, Duration leaseTtl) {
    return around(Operation.TRY_LEASE, delegate.tryLease(key, leaseTtl));
  }

  @Override
  public Mono<Boolean> setIfLeased(String key, String token, byte[] value, Duration ttl) {
    return around(Operation.SET_IF_LEASED, delegate.setIfLeased(key, token, value, ttl));
  }

  @Override
  public Flux<String> setAllIfLeased(Collection<LeasedEntry> entries) {
    return aroundMany(Operation.SET_ALL_IF_LEASED, delegate.setAllIfLeased(entries));
  }

  @Override
  public Mono<Void> releaseLease(String key, String token) {
    return around(Operation.RELEASE_LEASE, delegate.releaseLease(key, token));
  }

  @Override
  public Mono<Long> generation(String namespace) {
    return around(Operation.GENERATION, delegate.generation(namespace));
  }

  @Override
  public Mono<Long> bumpGeneration(String namespace) {
    return around(Operation.BUMP_GENERATION, delegate.bumpGeneration(namespace));
  }

  @Override
  public Mono<Long> time(String namespace) {
    return around(Operation.TIME, delegate.time(namespace));
  }

  @Override
  public Mono<Void> ping() {
    return around(Operation.PING, delegate.ping());
  }

  /** The delegate's state: a decorator that knows better overrides it. */
  @Override
  public StoreState state() {
    return delegate.state();
  }

  /**
   * Forwards to the delegate without {@link #around}: it is a hint, not a call on the store, and
   * usually never completes, so a hook that times out or retries calls must not see it.
   */
  @Override
  public Mono<Void> leaseEnded(String key) {
    return delegate.leaseEnded(key);
  }

  /**
   * Forwards to the delegate without {@link #around}: a registration, not a call on the store.
   * A decorator that changes what the delegate holds (and so what changes) overrides it.
   */
  @Override
  public @Nullable Disposable invalidations(InvalidationListener listener) {
    return delegate.invalidations(listener);
  }

  @Override
  public String toString() {
    return getClass().getSimpleName() + "[" + delegate + "]";
  }
}
