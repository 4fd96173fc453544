package dev.cacheaside.core;

import dev.cacheaside.core.Entries.Encoded;
import dev.cacheaside.core.spi.CacheStore;
import dev.cacheaside.core.spi.CacheStore.KeyedLookup;
import dev.cacheaside.core.spi.CacheStore.LeasedEntry;
import dev.cacheaside.core.spi.CacheStore.StoreEntry;
import dev.cacheaside.core.spi.StoreLookup;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;

/**
 * The engine's calls on the store, each with its failure counted and turned into "no answer":
 * a cache problem never fails a read the loader can answer. What "no answer" means is each
 * method's own (a miss, no lease, nothing stored); the read paths decide what follows.
 */
final class StoreCalls {
  /** A {@code tryLease}: the token won, or none because another caller holds it or the store failed. */
  record LeaseTry(@Nullable String token, boolean failed) {
    static final LeaseTry TAKEN = new LeaseTry(null, false);
    static final LeaseTry FAILED = new LeaseTry(null, true);
  }

  private final CacheStore store;
  private final Duration leaseTtl;
  private final StatsCounter stats;
  private final Scheduler scheduler;
  private final Duration timeout;
  private final StoreErrorLog errors;

  StoreCalls(CacheSettings<?, ?> settings, StatsCounter stats, StoreErrorLog errors) {
    this.errors = errors;
    this.store = settings.store();
    this.leaseTtl = settings.leaseTtl();
    this.stats = stats;
    this.scheduler = settings.scheduler();
    this.timeout = settings.storeTimeout();
  }

  /**
   * {@code call} as every engine store call is made: bounded by the store timeout, and with an
   * error signalled on the caller's stack delivered off it ({@link OffStackErrors}), so what
   * follows a rejected call never sends the next store call from inside the store's own write.
   */
  <T> Mono<T> guarded(Mono<T> call) {
    return OffStackErrors.of(call.timeout(timeout, scheduler), scheduler);
  }

  /** The store, for the calls the engine makes without a wrapper (the hit path's GET, watches). */
  CacheStore store() {
    return store;
  }

  /** Counts and logs a failed store call; {@code what} names the key(s). */
  void failed(String operation, String what, Throwable e) {
    errors.failed(operation, what, e);
  }

  /** {@code getOrLease}; empty when the store failed. */
  Mono<StoreLookup> getOrLease(String storeKey) {
    return guarded(store.getOrLease(storeKey, leaseTtl)).onErrorResume(e -> {
      failed("getOrLease", storeKey, e);
      return Mono.empty();
    });
  }

  /** {@code getOrLeaseAll} by store key; an empty map when the store failed. */
  Mono<Map<String, StoreLookup>> getOrLeaseAll(List<String> storeKeys) {
    return guarded(store.getOrLeaseAll(storeKeys, leaseTtl)
            .collectMap(KeyedLookup::key, KeyedLookup::lookup))
        .onErrorResume(e -> {
          failed("getOrLeaseAll", describe(storeKeys), e);
          return Mono.just(Map.of());
        });
  }

  /** {@code getAll}; an empty map when the store failed. */
  Mono<Map<String, byte[]>> getAll(List<String> storeKeys) {
    return guarded(store.getAll(storeKeys))
        .onErrorResume(e -> {
          failed("getAll", describe(storeKeys), e);
          return Mono.empty();
        })
        .defaultIfEmpty(Map.of());
  }

  /** {@code tryLease}: the token, {@link LeaseTry#TAKEN} or {@link LeaseTry#FAILED}. */
  Mono<LeaseTry> tryLease(String storeKey) {
    return guarded(store.tryLease(storeKey, leaseTtl))
        .map(token -> new LeaseTry(token, false))
        .defaultIfEmpty(LeaseTry.TAKEN)
        .onErrorResume(e -> {
          failed("tryLease", storeKey, e);
          return Mono.just(LeaseTry.FAILED);
        });
  }

  /**
   * Stores an entry: under the lease {@code token} ({@code setIfLeased}; a refused store, the
   * lease gone or another application's value found at the key, is counted as a lease lost),
   * or unconditionally when {@code token} is null (leases off).
   */
  Mono<Void> store(String storeKey, @Nullable String token, Encoded entry) {
    Mono<Void> write = token == null
        ? store.set(storeKey, entry.bytes(), entry.ttl())
        : store.setIfLeased(storeKey, token, entry.bytes(), entry.ttl())
            .doOnNext(stored -> {
              if (!stored) {
                stats.leasesLost.increment();
              }
            }).then();
    return guarded(write).onErrorResume(e -> {
      failed(token == null ? "set" : "setIfLeased", storeKey, e);
      return Mono.empty();
    });
  }

  /** Stores a batch: the leased entries in one call, the others in another, concurrently. */
  Mono<Void> storeAll(List<LeasedEntry> leased, List<StoreEntry> plain) {
    Mono<Void> underLeases = leased.isEmpty() ? Mono.empty()
        : guarded(store.setAllIfLeased(leased).count())
            .doOnNext(stored -> {
              long lost = leased.size() - stored;
              if (lost > 0) {
                stats.leasesLost.add(lost);
              }
            })
            .onErrorResume(e -> {
              failed("setAllIfLeased", leased.size() + " keys", e);
              return Mono.empty();
            })
            .then();
    Mono<Void> unconditional = plain.isEmpty() ? Mono.empty()
        : guarded(store.setAll(plain)).onErrorResume(e -> {
          failed("setAll", plain.size() + " keys", e);
          return Mono.empty();
        });
    return plain.isEmpty() ? underLeases
        : leased.isEmpty() ? unconditional : Mono.when(underLeases, unconditional);
  }

  /** Gives a lease back (nothing when {@code token} is null); a failure is counted and ignored. */
  Mono<Void> release(String storeKey, @Nullable String token) {
    if (token == null) {
      return Mono.empty();
    }
    return guarded(store.releaseLease(storeKey, token)).onErrorResume(e -> {
      failed("releaseLease", storeKey, e);
      return Mono.empty();
    });
  }

  /** Deletes entries that could not be decoded; a failing delete is counted and ignored. */
  Mono<Void> deleteCorrupt(List<String> storeKeys) {
    if (storeKeys.isEmpty()) {
      return Mono.empty();
    }
    return guarded(store.delete(storeKeys)).onErrorResume(e -> {
      failed("delete", describe(storeKeys), e);
      return Mono.empty();
    });
  }

  private static String describe(List<String> keys) {
    return keys.size() == 1 ? keys.get(0) : keys.size() + " keys";
  }
}
