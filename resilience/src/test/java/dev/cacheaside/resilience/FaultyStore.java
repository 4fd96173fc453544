package dev.cacheaside.resilience;

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
 * A store that can go down (every call fails at once, like a refused connection) or freeze (no
 * call ever answers, like a stalled server), and counts the calls that reached it.
 */
final class FaultyStore extends ForwardingCacheStore {
  enum Mode { UP, DOWN, FROZEN }

  volatile Mode mode = Mode.UP;
  /** Deletes alone fail while set, whatever the mode: an invalidation lost while reads work. */
  volatile boolean failDeletes;
  final AtomicInteger calls = new AtomicInteger();
  final AtomicInteger deletes = new AtomicInteger();

  FaultyStore(CacheStore delegate) {
    super(delegate);
  }

  private <T> Mono<T> guard(Mono<T> call) {
    return Mono.defer(() -> {
      calls.incrementAndGet();
      return switch (mode) {
        case UP -> call;
        case DOWN -> Mono.error(new IllegalStateException("store is down"));
        case FROZEN -> Mono.never();
      };
    });
  }

  @Override
  public Mono<byte[]> get(String key) {
    return guard(super.get(key));
  }

  @Override
  public Mono<Map<String, byte[]>> getAll(Collection<String> keys) {
    return guard(super.getAll(keys));
  }

  @Override
  public Mono<Void> set(String key, byte[] value, Duration ttl) {
    return guard(super.set(key, value, ttl));
  }

  @Override
  public Mono<Void> setAll(Collection<StoreEntry> entries) {
    return guard(super.setAll(entries));
  }

  @Override
  public Mono<Void> delete(Collection<String> keys) {
    Mono<Void> call = super.delete(keys);
    return guard(Mono.defer(() -> {
      deletes.incrementAndGet();
      return failDeletes ? Mono.error(new IllegalStateException("delete lost")) : call;
    }));
  }

  @Override
  public Mono<Void> delete(String key) {
    Mono<Void> call = super.delete(key);
    return guard(Mono.defer(() -> {
      deletes.incrementAndGet();
      return failDeletes ? Mono.error(new IllegalStateException("delete lost")) : call;
    }));
  }

  @Override
  public Mono<StoreLookup> getOrLease(String key, Duration leaseTtl) {
    return guard(super.getOrLease(key, leaseTtl));
  }

  @Override
  public Flux<KeyedLookup> getOrLeaseAll(Collection<String> keys, Duration leaseTtl) {
    return guard(super.getOrLeaseAll(keys, leaseTtl).collectList()).flatMapIterable(l -> l);
  }

  @Override
  public Mono<String> tryLease(String key, Duration leaseTtl) {
    return guard(super.tryLease(key, leaseTtl));
  }

  @Override
  public Mono<Boolean> setIfLeased(String key, String token, byte[] value, Duration ttl) {
    return guard(super.setIfLeased(key, token, value, ttl));
  }

  @Override
  public Flux<String> setAllIfLeased(Collection<LeasedEntry> entries) {
    return guard(super.setAllIfLeased(entries).collectList()).flatMapIterable(l -> l);
  }

  @Override
  public Mono<Void> releaseLease(String key, String token) {
    return guard(super.releaseLease(key, token));
  }

  @Override
  public Mono<Long> increment(String key) {
    return guard(super.increment(key));
  }
}
