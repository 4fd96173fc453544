package dev.cacheaside.core;

import dev.cacheaside.core.spi.CacheStore;
import dev.cacheaside.core.spi.ForwardingCacheStore;
import dev.cacheaside.core.spi.StoreState;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * The store as a cache with a near cache sees it: reads answered from the {@link NearTier} when
 * it has a live copy, store reads filling it (with a ticket taken before the read is sent), and
 * every write and delete through this instance dropping the local copies first. A cache without
 * a near cache never meets this class, so its hit path is the store's own {@code get}.
 *
 * <p>Only plain reads ({@code get}, {@code getAll}) fill the tier: a lease lookup or a store under
 * a lease does not, so a lease holder whose store was refused has nothing to install, and a value
 * enters the tier only as some store read saw it. Nothing is read or filled while the store says
 * it is not {@link StoreState#UP} (a circuit breaker open or probing): its invalidations may be
 * held back then, and reads go where they would go without a near cache.
 */
final class NearStore extends ForwardingCacheStore {
  private final NearTier tier;

  NearStore(CacheStore store, NearTier tier) {
    super(store);
    this.tier = tier;
  }

  @Override
  public Mono<byte[]> get(String key) {
    if (delegate().state() != StoreState.UP) {
      return delegate().get(key);
    }
    byte[] copy = tier.get(key);
    if (copy != null) {
      return Mono.just(copy);
    }
    long ticket = tier.ticket(key);
    Mono<byte[]> read = delegate().get(key);
    return ticket < 0 ? read : read.doOnNext(bytes -> tier.fill(key, bytes, ticket));
  }

  @Override
  public Mono<Map<String, byte[]>> getAll(Collection<String> keys) {
    if (delegate().state() != StoreState.UP || keys.isEmpty()) {
      return delegate().getAll(keys);
    }
    Map<String, byte[]> found = new HashMap<>();
    List<String> rest = new ArrayList<>(keys.size());
    for (String key : keys) {
      byte[] copy = tier.get(key);
      if (copy != null) {
        found.put(key, copy);
      } else {
        rest.add(key);
      }
    }
    if (rest.isEmpty()) {
      return Mono.just(found);
    }
    long[] tickets = new long[rest.size()];
    for (int i = 0; i < tickets.length; i++) {
      tickets[i] = tier.ticket(rest.get(i));
    }
    return delegate().getAll(rest).map(read -> {
      for (int i = 0; i < tickets.length; i++) {
        byte[] bytes = read.get(rest.get(i));
        if (bytes != null) {
          tier.fill(rest.get(i), bytes, tickets[i]);
        }
      }
      found.putAll(read);
      return found;
    });
  }

  /**
   * {@code call}, with the local copies of {@code keys} dropped when it is subscribed and again
   * before its end is passed on: a read that began in between (and may have fetched the old
   * value) holds a ticket the second drop refuses, or had its copy removed by it. So the caller
   * of a delete never finds the old value here once the delete completed.
   */
  private <T> Mono<T> dropping(Collection<String> keys, Mono<T> call) {
    return Mono.defer(() -> {
      tier.invalidateAll(keys);
      return call;
    }).doOnTerminate(() -> tier.invalidateAll(keys));
  }

  private <T> Flux<T> droppingMany(Collection<String> keys, Flux<T> call) {
    return Flux.defer(() -> {
      tier.invalidateAll(keys);
      return call;
    }).doOnTerminate(() -> tier.invalidateAll(keys));
  }

  @Override
  public Mono<Void> delete(Collection<String> keys) {
    List<String> copy = List.copyOf(keys);
    return dropping(copy, delegate().delete(copy));
  }

  @Override
  public Mono<Void> delete(String key) {
    return dropping(List.of(key), delegate().delete(key));
  }

  @Override
  public Mono<Void> set(String key, byte[] value, Duration ttl) {
    return dropping(List.of(key), delegate().set(key, value, ttl));
  }

  @Override
  public Mono<Void> setAll(Collection<StoreEntry> entries) {
    return dropping(entries.stream().map(StoreEntry::key).toList(), delegate().setAll(entries));
  }

  @Override
  public Mono<Boolean> setIfLeased(String key, String token, byte[] value, Duration ttl) {
    return dropping(List.of(key), delegate().setIfLeased(key, token, value, ttl));
  }

  @Override
  public Flux<String> setAllIfLeased(Collection<LeasedEntry> entries) {
    return droppingMany(entries.stream().map(LeasedEntry::key).toList(),
        delegate().setAllIfLeased(entries));
  }

  /** Every copy goes before the new generation is passed on. */
  @Override
  public Mono<Long> bumpGeneration(String namespace) {
    return delegate().bumpGeneration(namespace).doOnNext(generation -> tier.flush());
  }
}
