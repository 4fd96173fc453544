package dev.cacheaside.core;

import dev.cacheaside.core.Entries.Encoded;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;
import reactor.core.Disposable;
import reactor.core.Exceptions;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.core.scheduler.Scheduler;

/**
 * Calls to the source of truth: the loader call through the {@link LoadDecorator}, its timing
 * and counting, and, for a single key, storing the result as its {@link LoadPlan} says. Shared by
 * the single-key read, the bulk read and early refresh, so all three pass the same bulkhead.
 */
final class Loads<V> {
  private final String cacheName;
  private final LoadDecorator decorator;
  private final StoreClock clock;
  private final Entries<V> entries;
  private final StoreCalls calls;
  private final StatsCounter stats;
  private final Duration timeout;
  private final Scheduler scheduler;
  private final boolean finishStarted;
  private final boolean cancelOnAbandon;

  Loads(CacheSettings<?, V> settings, StoreClock clock, Entries<V> entries, StoreCalls calls,
      StatsCounter stats) {
    this.cacheName = settings.name();
    this.decorator = settings.loadDecorator();
    this.clock = clock;
    this.entries = entries;
    this.calls = calls;
    this.stats = stats;
    this.timeout = settings.loadTimeout();
    this.scheduler = settings.scheduler();
    this.finishStarted = settings.abandonedReads() == AbandonedReads.CANCEL_UNSTARTED;
    this.cancelOnAbandon = settings.abandonedReads() != AbandonedReads.FINISH;
  }

  /**
   * When a load's loader was called (the decorator let it through; 0 until then), and how many
   * keys it loads (counted in {@code loads} then).
   */
  static final class Start {
    final int keys;
    volatile long nanos;

    Start(int keys) {
      this.keys = keys;
    }

    boolean started() {
      return nanos != 0;
    }
  }

  /**
   * Loads one key and stores the result as {@code plan} says. A failure with a stale outcome at
   * hand serves it (stale-if-error); otherwise the error propagates and nothing is stored. The
   * lease is released whenever nothing is stored under it.
   */
  <K> Mono<Outcome<V>> load(Read<K, V> read, LoadPlan<V> plan) {
    String storeKey = read.storeKey();
    return Mono.defer(() -> {
      Start start = new Start(1);
      long startMillis = clock.millis();
      Mono<Outcome<V>> work = call(() -> read.loader().apply(read.key()), () -> "key " + read.key(),
              start)
          .map(Outcome::<V>loaded)
          .defaultIfEmpty(Outcome.loaded(null))
          .onErrorResume(e -> {
            stats.totalLoadTimeNanos.add(elapsed(start));
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
            stats.totalLoadTimeNanos.add(elapsed(start));
            return plan.stores()
                ? save(storeKey, plan.token(), outcome.value(), startMillis).thenReturn(outcome)
                : Mono.just(outcome);
          })
          // Cancelled: nothing will be stored under the lease, so waiters may take it over now.
          .doOnCancel(() -> calls.release(storeKey, plan.token()).subscribe());
      return finishStarted ? detachedOnceStarted(work, start) : work;
    });
  }

  /**
   * {@code work}, run so that a cancel stops it only while its loader has not been called: an
   * abandoned load still waiting for a permit or a lease is dropped, one already in the database
   * runs to the end and stores its result ({@link AbandonedReads#CANCEL_UNSTARTED}).
   */
  private static <T> Mono<T> detachedOnceStarted(Mono<T> work, Start start) {
    return Mono.deferContextual(context -> {
      Sinks.One<T> result = Sinks.one();
      Disposable running = work.contextWrite(context)
          .subscribe(result::tryEmitValue, result::tryEmitError, result::tryEmitEmpty);
      return result.asMono().doOnCancel(() -> {
        if (!start.started()) {
          running.dispose();
        }
      });
    });
  }

  /** Nanoseconds since the loader was called, 0 if it never was. */
  static long elapsed(Start start) {
    long began = start.nanos;
    return began == 0 ? 0 : System.nanoTime() - began;
  }

  /** Whether abandoned reads are cancelled at all ({@link AbandonedReads}). */
  boolean cancelOnAbandon() {
    return cancelOnAbandon;
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
   * a null Mono into an error signal: a user's loader must not break the cache. The whole call,
   * the decorator's wait included, is bounded by the load timeout; when it fires, the decorated
   * call is cancelled (a bulkhead gives its permit back) and the load fails.
   *
   * @param what names the key(s) in errors
   * @param start marked when the loader is called; the call is counted then
   */
  <T> Mono<T> call(Supplier<? extends @Nullable Mono<T>> loader, Supplier<String> what,
      Start start) {
    return decorated(Mono.defer(() -> {
      start.nanos = Math.max(1, System.nanoTime());
      stats.loads.add(start.keys);
      try {
        Mono<T> source = loader.get();
        return source != null ? source : Mono.error(new NullPointerException("cache '"
            + cacheName + "': loader returned null instead of a Mono for " + what.get()));
      } catch (Throwable t) {
        Exceptions.throwIfJvmFatal(t);
        return Mono.error(t);
      }
    })).timeout(timeout, Mono.error(() -> new TimeoutException("cache '" + cacheName
        + "': load of " + what.get() + " took longer than the load timeout " + timeout)),
        scheduler);
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
