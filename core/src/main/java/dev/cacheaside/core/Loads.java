package dev.cacheaside.core;

import dev.cacheaside.core.Entries.Encoded;
import java.time.Clock;
import java.util.Objects;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;
import reactor.core.Exceptions;
import reactor.core.publisher.Mono;

/**
 * Calls to the source of truth: the loader call through the {@link LoadDecorator}, its timing
 * and counting, and, for a single key, storing the result as its {@link LoadPlan} says. Shared by
 * the single-key read, the bulk read and early refresh, so all three pass the same bulkhead.
 */
final class Loads<V> {
  private final String cacheName;
  private final LoadDecorator decorator;
  private final Clock clock;
  private final Entries<V> entries;
  private final StoreCalls calls;
  private final StatsCounter stats;

  Loads(CacheSettings<?, V> settings, Entries<V> entries, StoreCalls calls, StatsCounter stats) {
    this.cacheName = settings.name();
    this.decorator = settings.loadDecorator();
    this.clock = settings.clock();
    this.entries = entries;
    this.calls = calls;
    this.stats = stats;
  }

  /**
   * Loads one key and stores the result as {@code plan} says. A failure with a stale outcome at
   * hand serves it (stale-if-error); otherwise the error propagates and nothing is stored. The
   * lease is released whenever nothing is stored under it.
   */
  <K> Mono<Outcome<V>> load(Read<K, V> read, LoadPlan<V> plan) {
    String storeKey = read.storeKey();
    return Mono.defer(() -> {
      stats.loads.increment();
      long startMillis = clock.millis();
      long startNanos = System.nanoTime();
      return call(() -> read.loader().apply(read.key()), () -> "key " + read.key())
          .map(Outcome::<V>loaded)
          .defaultIfEmpty(Outcome.loaded(null))
          .onErrorResume(e -> {
            stats.totalLoadTimeNanos.add(System.nanoTime() - startNanos);
            stats.loadFailures.increment();
            Mono<Void> release = calls.release(storeKey, plan.token());
            Outcome<V> stale = plan.stale();
            if (stale != null) {
              Log.CACHE.debug("cache '{}': load of {} failed ({}); serving the stale value",
                  cacheName, storeKey, e.toString());
              return release.thenReturn(stale);
            }
            return release.then(Mono.error(e));
          })
          .flatMap(outcome -> {
            if (outcome.kind() != Outcome.Kind.LOADED) {
              return Mono.just(outcome);
            }
            stats.totalLoadTimeNanos.add(System.nanoTime() - startNanos);
            return plan.stores()
                ? save(storeKey, plan.token(), outcome.value(), startMillis).thenReturn(outcome)
                : Mono.just(outcome);
          });
    });
  }

  /** Encodes and stores a loaded value (or "not found"); a codec failure fails the call. */
  private Mono<Void> save(String storeKey, @Nullable String token, @Nullable V value,
      long loadedAt) {
    Encoded encoded;
    try {
      encoded = entries.encode(storeKey, value, loadedAt);
    } catch (CodecException e) {
      return calls.release(storeKey, token).then(Mono.error(e));
    }
    return encoded == null ? calls.release(storeKey, token)
        : calls.store(storeKey, token, encoded);
  }

  /**
   * Calls a loader when the configured {@link LoadDecorator} lets it (lazily), turning a throw or
   * a null Mono into an error signal: a user's loader must not break the cache.
   *
   * @param what names the key(s) in the error of a loader that returned null
   */
  <T> Mono<T> call(Supplier<? extends @Nullable Mono<T>> loader, Supplier<String> what) {
    return decorated(Mono.defer(() -> {
      try {
        Mono<T> source = loader.get();
        return source != null ? source : Mono.error(new NullPointerException("cache '"
            + cacheName + "': loader returned null instead of a Mono for " + what.get()));
      } catch (Throwable t) {
        Exceptions.throwIfJvmFatal(t);
        return Mono.error(t);
      }
    }));
  }

  /**
   * Applies the decorator to a deferred loader call, so a bulkhead can hold the call itself back;
   * a decorator that throws fails the load, not the cache.
   */
  private <T> Mono<T> decorated(Mono<T> deferredLoad) {
    try {
      return Objects.requireNonNull(decorator.decorate(deferredLoad),
          () -> "cache '" + cacheName + "': load decorator returned null");
    } catch (Throwable t) {
      Exceptions.throwIfJvmFatal(t);
      return Mono.error(t);
    }
  }
}
