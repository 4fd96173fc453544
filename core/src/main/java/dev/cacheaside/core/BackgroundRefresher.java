package dev.cacheaside.core;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.util.Logger;
import reactor.util.Loggers;

/**
 * Early refresh for one cache: on a hit the {@link EarlyRefresh} policy decides; a due refresh
 * takes the key's lease and runs the ordinary leased load ({@link Loads}, the same load and store
 * a miss uses) in the background, on the refresh scheduler.
 *
 * <h2>Why refreshes have their own in-flight map</h2>
 * The cache's in-flight map holds <em>reads</em>: a caller that arrives while a read of its key is
 * in flight joins it and gets its answer. If a refresh were such a read, every hit arriving during
 * the refresh would wait for the database, the very thing early refresh is for. So a refresh lives
 * in {@link #refreshes}, which hits never look at: they read the store, find the old value still
 * fresh and are answered at once. The paths that would <em>load</em> look at it instead: a miss
 * (the entry expired or was evicted while the refresh ran) or a stale read joins the refresh's
 * load through {@link #joinOr} rather than ask for the lease (held by the refresh anyway) and
 * poll, or, without leases, load a second time. Across instances the lease does the same job:
 * the refresh holds it, so other instances' misses wait for its value.
 *
 * <p>An invalidation {@linkplain #forget forgets} the key's refresh before its completion is
 * signalled, as it does the key's read, so a read that starts after an invalidation never joins
 * a load that began before it; the refresh's own store is refused by the lease.
 *
 * <h2>Bulk</h2>
 * The fresh hits of one {@code cacheAsideAll} window that are due are refreshed together
 * ({@link #onHits}): each due key becomes a refresh in flight of its own (joined by single-key
 * misses like any other), and one background call leases them and loads the leased ones with
 * one bulk load, through the bulk read's own load and store.
 */
final class BackgroundRefresher<K, V> {
  private static final Logger LOG = Loggers.getLogger(BackgroundRefresher.class);
  /** Backoff states are swept of expired ones when the map grows past this (and then 2 × size). */
  private static final int SWEEP_AT_LEAST = 1024;

  /** One key's result of a bulk refresh; both null: no lease (or the store failed), no refresh. */
  record KeyResult<V>(String storeKey, @Nullable Outcome<V> outcome, @Nullable Throwable error) {}

  /**
   * Leases {@code storeKeys} and loads the leased ones with one bulk load, storing under their
   * leases; reports every key once.
   */
  @FunctionalInterface
  interface BulkRefresh<V> {
    Flux<KeyResult<V>> refresh(List<String> storeKeys);
  }

  /** A fresh hit of a bulk read: the store key and its entry. */
  record Hit(String storeKey, Envelope envelope) {}

  private final CacheSettings<K, V> settings;
  private final EarlyRefresh policy;
  private final StatsCounter stats;
  private final StoreClock clock;
  private final StoreCalls calls;
  private final Loads<V> loads;
  private final ConcurrentHashMap<String, Refresh<V>> refreshes = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, Backoff> backoffs = new ConcurrentHashMap<>();
  private volatile int sweepAt = SWEEP_AT_LEAST;

  BackgroundRefresher(CacheSettings<K, V> settings, StoreClock clock, StatsCounter stats,
      StoreCalls calls, Loads<V> loads) {
    this.settings = settings;
    this.clock = clock;
    this.policy = settings.refresh().policy();
    this.stats = stats;
    this.calls = calls;
    this.loads = loads;
  }

  /** A refresh in flight; the holder lets it remove exactly itself from the map. */
  private static final class Refresh<V> {
    @SuppressWarnings("NotNullFieldNotInitialized")
    Mono<Outcome<V>> mono;
  }

  /**
   * A key whose refreshes failed: the next is not tried before {@code notBefore}. The state means
   * nothing after {@code until}, the expiry of the entry whose refresh failed: a later entry was
   * loaded by a read, not by us.
   */
  private record Backoff(int failures, long notBefore, long until) {}

  /**
   * A fresh hit on {@code envelope}: starts a background refresh if the policy says it is due and
   * none of this key is in flight or backing off. Returns at once, never throws: the hit is
   * served whatever happens here.
   */
  void onHit(Read<K, V> read, Envelope envelope) {
    if (policy.isNone()) {
      return;
    }
    String key = read.storeKey();
    try {
      long now = clock.millis();
      if (!policy.due(key, envelope.loadedAt(), envelope.expiresAt(), envelope.loadMillis(), now)
          || refreshes.containsKey(key) || backingOff(key, now)) {
        return;
      }
      Refresh<V> refresh = new Refresh<>();
      refresh.mono = refresh(read, envelope.expiresAt())
          .doFinally(signal -> refreshes.remove(key, refresh))
          .cache();
      if (refreshes.putIfAbsent(key, refresh) != null) {
        return;
      }
      // Outcomes are counted inside refresh(); the error is swallowed here so it is not dropped.
      refresh.mono.subscribeOn(settings.refresh().scheduler()).subscribe(outcome -> { }, e -> { });
    } catch (RuntimeException e) {
      LOG.warn("cache '{}': early refresh of {} not started: {}", settings.name(), key,
          e.toString());
    }
  }

  /**
   * The refresh: lease, then the leased load. No lease (another instance or caller is loading
   * the key, or the store fails) means no refresh: empty.
   */
  private Mono<Outcome<V>> refresh(Read<K, V> read, long oldExpiresAt) {
    if (!settings.leases()) {
      return refreshLoad(read, null, oldExpiresAt);
    }
    return calls.tryLease(read.storeKey())
        .flatMap(lease -> {
          String token = lease.token();
          return token == null ? Mono.empty() : refreshLoad(read, token, oldExpiresAt);
        });
  }

  private Mono<Outcome<V>> refreshLoad(Read<K, V> read, @Nullable String token,
      long oldExpiresAt) {
    String key = read.storeKey();
    return Mono.defer(() -> {
      stats.refreshes.increment();
      // Past the lease TTL the lease has lapsed and the store would be refused: give up, so a
      // hung loader cannot hold this key's refresh (and the misses joining it) forever.
      return loads.load(read, LoadPlan.of(settings.leases(), token))
          .timeout(settings.leaseTtl(), settings.scheduler())
          .doOnNext(outcome -> {
            backoffs.remove(key);
            long lead = oldExpiresAt - clock.millis();
            stats.totalRefreshLeadMillis.add(Math.max(0, lead));
          })
          .doOnError(e -> {
            stats.refreshFailures.increment();
            backOff(key, oldExpiresAt);
            LOG.debug("cache '{}': early refresh of {} failed, keeping the old value: {}",
                settings.name(), key, e.toString());
          });
    });
  }

  /**
   * The fresh hits of one bulk read window: the keys that are due (and neither refreshing nor
   * backing off) become refreshes in flight, and {@code body} refreshes them all with one call in
   * the background. Returns at once, never throws.
   */
  void onHits(List<Hit> hits, BulkRefresh<V> body) {
    if (policy.isNone() || hits.isEmpty()) {
      return;
    }
    try {
      long now = clock.millis();
      Map<String, Claim<V>> claimed = new LinkedHashMap<>();
      for (Hit hit : hits) {
        String key = hit.storeKey();
        Envelope envelope = hit.envelope();
        if (!policy.due(key, envelope.loadedAt(), envelope.expiresAt(), envelope.loadMillis(), now)
            || refreshes.containsKey(key) || backingOff(key, now)) {
          continue;
        }
        Claim<V> claim = new Claim<>(key, envelope.expiresAt());
        if (refreshes.putIfAbsent(key, claim.refresh) == null) {
          claimed.put(key, claim);
        }
      }
      if (claimed.isEmpty()) {
        return;
      }
      // take(duration), not timeout: the bound is on the whole refresh, as for a single key.
      Flux.defer(() -> body.refresh(new ArrayList<>(claimed.keySet())))
          .take(settings.leaseTtl(), settings.scheduler())
          .doOnNext(result -> {
            Claim<V> claim = claimed.get(result.storeKey());
            if (claim != null) {
              finish(claim, result.outcome(), result.error());
            }
          })
          .doOnError(e -> claimed.values().forEach(claim -> finish(claim, null, e)))
          .doFinally(signal -> claimed.values().forEach(claim -> finish(claim, null,
              new TimeoutException("early refresh of " + claim.storeKey + " not done within the"
                  + " lease TTL " + settings.leaseTtl()))))
          .subscribeOn(settings.refresh().scheduler())
          .subscribe(result -> { }, e -> LOG.debug("cache '{}': bulk early refresh failed: {}",
              settings.name(), e.toString()));
    } catch (RuntimeException e) {
      LOG.warn("cache '{}': bulk early refresh not started: {}", settings.name(), e.toString());
    }
  }

  /** A key of a bulk refresh: its refresh in flight, completed through {@link #finish}. */
  private static final class Claim<V> {
    final String storeKey;
    final long oldExpiresAt;
    final Sinks.One<Outcome<V>> sink = Sinks.one();
    final Refresh<V> refresh = new Refresh<>();
    boolean finished;

    Claim(String storeKey, long oldExpiresAt) {
      this.storeKey = storeKey;
      this.oldExpiresAt = oldExpiresAt;
      refresh.mono = sink.asMono();
    }
  }

  /**
   * Ends one key of a bulk refresh (once): counted as a single key's refresh would be, out of the
   * map, then its joiners are answered (empty when it had no lease: they go their own way).
   */
  private void finish(Claim<V> claim, @Nullable Outcome<V> outcome, @Nullable Throwable error) {
    if (claim.finished) {
      return;
    }
    claim.finished = true;
    refreshes.remove(claim.storeKey, claim.refresh);
    if (outcome != null) {
      stats.refreshes.increment();
      backoffs.remove(claim.storeKey);
      stats.totalRefreshLeadMillis.add(Math.max(0, claim.oldExpiresAt - clock.millis()));
      claim.sink.tryEmitValue(outcome);
    } else if (error != null) {
      stats.refreshes.increment();
      stats.refreshFailures.increment();
      backOff(claim.storeKey, claim.oldExpiresAt);
      LOG.debug("cache '{}': early refresh of {} failed, keeping the old value: {}",
          settings.name(), claim.storeKey, error.toString());
      claim.sink.tryEmitError(error);
    } else {
      claim.sink.tryEmitEmpty();
    }
  }

  /**
   * The load a miss or stale read of {@code storeKey} should wait for: the key's refresh if one
   * is in flight in this JVM, else {@code otherwise}. When the joined refresh fails or did not get
   * the lease, a stale read is served {@code stale}, a miss goes on with {@code otherwise}.
   */
  Mono<Outcome<V>> joinOr(String storeKey, @Nullable Outcome<V> stale,
      Supplier<Mono<Outcome<V>>> otherwise) {
    Refresh<V> refresh = refreshes.isEmpty() ? null : refreshes.get(storeKey);
    if (refresh == null) {
      return otherwise.get();
    }
    stats.coalesced.increment();
    Mono<Outcome<V>> fallback =
        Mono.defer(() -> stale != null ? Mono.just(stale) : otherwise.get());
    return refresh.mono.onErrorResume(e -> Mono.empty()).switchIfEmpty(fallback);
  }

  /** Forgets the key's refresh (it may still finish, but its store is refused) and its backoff. */
  void forget(String storeKey) {
    refreshes.remove(storeKey);
    backoffs.remove(storeKey);
  }

  /** Refreshes in flight; for tests that check nothing leaks. */
  int inflightCount() {
    return refreshes.size();
  }

  private boolean backingOff(String key, long now) {
    Backoff backoff = backoffs.get(key);
    if (backoff == null) {
      return false;
    }
    if (now >= backoff.until()) {
      backoffs.remove(key, backoff);
      return false;
    }
    return now < backoff.notBefore();
  }

  private void backOff(String key, long until) {
    long now = clock.millis();
    long min = settings.refresh().backoffMin().toMillis();
    long max = settings.refresh().backoffMax().toMillis();
    backoffs.compute(key, (k, old) -> {
      int failures = old == null || now >= old.until() ? 1 : old.failures() + 1;
      // min × 2^(failures-1), without overflow
      long pause = failures > 62 || min > (max >> Math.min(failures - 1, 62)) ? max
          : Math.min(max, min << (failures - 1));
      return new Backoff(failures, now + pause, until);
    });
    if (backoffs.size() > sweepAt) {
      backoffs.values().removeIf(b -> now >= b.until());
      sweepAt = Math.max(SWEEP_AT_LEAST, 2 * backoffs.size());
    }
  }
}
