package dev.cacheaside.core;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;
import org.reactivestreams.Publisher;
import org.reactivestreams.Subscription;
import reactor.core.CoreSubscriber;
import reactor.core.Exceptions;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Operators;
import reactor.util.Logger;
import reactor.util.Loggers;
import reactor.util.retry.Retry;

/**
 * The one implementation of {@link CacheAside}.
 *
 * <h2>The read</h2>
 * <ol>
 *   <li>{@code GET}. A fresh entry answers (a negative entry answers "not found"). A stale entry
 *       (past logical expiry, within grace) is refreshed by whoever wins {@code tryLease}; the
 *       others are served the stale value. A corrupt entry is deleted and read again once.</li>
 *   <li>On a miss, {@code getOrLease}: it re-checks the value atomically (another instance may
 *       have stored it since the {@code GET}), or grants the lease, or reports a lease held
 *       elsewhere; then the holder loads and stores with {@code setIfLeased}, and the others poll
 *       with backoff (a poll comes early when the store says the lease ended) until the value
 *       appears, the lease passes to them, or the wait budget is spent (then they load without
 *       storing).</li>
 * </ol>
 *
 * <h2>Sharing in this JVM</h2>
 * The in-flight map holds one shared read per key ({@link ReadFlight}). Why the second cache check must be
 * inside the flight (as groupcache's singleflight notes): caller A misses on {@code GET};
 * meanwhile caller B's flight loads, stores and leaves the map; if A now started a load straight
 * away it would load again. So a flight always begins with the store read, never with the load,
 * and a caller that misses outside a flight joins or starts a flight that reads again.
 * A flight does not cancel its read when a subscriber cancels, so one caller's cancel never
 * cancels the load others wait on; the entry leaves the map when the flight terminates.
 *
 * <h2>Early refresh</h2>
 * A fresh hit asks the {@link BackgroundRefresher} whether to refresh in the background; misses
 * and stale reads join a refresh in flight instead of loading. Why refreshes are kept apart from
 * the reads in flight is explained there.
 *
 * <h2>Bulk</h2>
 * {@link #cacheAsideAll} is {@link BulkRead}: it registers its loads in the same in-flight map
 * and decodes, encodes and releases with this class's methods, so a key is loaded once whichever
 * path asked first.
 */
final class DefaultCacheAside<K, V> implements CacheAside<K, V> {
  private static final Logger LOG = Loggers.getLogger(CacheAside.class);

  private final CacheSettings<K, V> settings;
  private final CacheStore store;
  private final Codec<V> codec;
  private final StatsCounter stats = new StatsCounter();
  private final ConcurrentHashMap<String, Flight<V>> inflight = new ConcurrentHashMap<>();
  private final Generation generation;
  private final BackgroundRefresher<K, V> refresher;
  private final BulkRead<K, V> bulk;

  DefaultCacheAside(CacheSettings<K, V> settings) {
    this.settings = settings;
    this.store = settings.store();
    this.codec = settings.codec();
    this.generation = new Generation(store, CacheStore.GENERATION_KEY_PREFIX + settings.name(),
        settings.generationRefresh().toMillis(), settings.clock(), stats);
    this.refresher = new BackgroundRefresher<>(settings, stats,
        (read, token) -> load(read, true, token, null));
    this.bulk = new BulkRead<>(this);
  }

  /**
   * A read in flight; the holder exists so the flight can remove exactly itself from the map. A
   * single-key flight's mono is its {@link ReadFlight}; a bulk flight's mono is a sink that its
   * window completes ({@link BulkRead}).
   */
  static final class Flight<V> {
    @SuppressWarnings("NotNullFieldNotInitialized")
    Mono<Outcome<V>> mono;
  }

  /** One caller's read: the key, its store key and its loader. */
  record Read<K, V>(K key, String storeKey, Function<? super K, ? extends Mono<V>> loader) {}

  @Override
  public String name() {
    return settings.name();
  }

  @Override
  public CacheStats stats() {
    return stats.snapshot();
  }

  /** Reads in flight in this JVM; for tests that check nothing leaks. */
  int inflightCount() {
    return inflight.size();
  }

  /** Background refreshes in flight in this JVM; for tests. */
  int refreshingCount() {
    return refresher.inflightCount();
  }

  CacheSettings<K, V> settings() {
    return settings;
  }

  StatsCounter counters() {
    return stats;
  }

  /** Early refresh, shared with {@link BulkRead} so its hits refresh as single keys' do. */
  BackgroundRefresher<K, V> refresher() {
    return refresher;
  }

  /** The in-flight map, shared with {@link BulkRead} so both paths load a key once. */
  ConcurrentHashMap<String, Flight<V>> inflight() {
    return inflight;
  }

  /** The formatted key, checked at call time so bad keys fail early. */
  String baseKey(K key) {
    Objects.requireNonNull(key, "key must not be null");
    String baseKey = settings.keyFormat().apply(key);
    if (baseKey == null || baseKey.isEmpty()) {
      throw new IllegalArgumentException("cache '" + settings.name() + "': key format returned "
          + (baseKey == null ? "null" : "an empty string") + " for key " + key);
    }
    return baseKey;
  }

  /**
   * Runs {@code body} with the store key of {@code baseKey} under the current generation. The
   * generation is known without I/O except once per refresh interval.
   */
  private <T> Mono<T> withStoreKey(String baseKey, Function<String, Mono<T>> body) {
    return Mono.defer(() -> {
      long current = generation.currentIfFresh();
      if (current >= 0) {
        return body.apply(Generation.keyOf(baseKey, current));
      }
      return generation.refresh().flatMap(g -> body.apply(Generation.keyOf(baseKey, g)));
    });
  }

  /** The current generation, read from the store at most once per refresh interval. */
  Mono<Long> currentGeneration() {
    return Mono.defer(() -> {
      long current = generation.currentIfFresh();
      return current >= 0 ? Mono.just(current) : generation.refresh();
    });
  }

  private Mono<Void> withStoreKeys(List<String> baseKeys, Function<List<String>, Mono<Void>> body) {
    return currentGeneration().flatMap(g -> {
      List<String> keys = new ArrayList<>(baseKeys.size());
      baseKeys.forEach(k -> keys.add(Generation.keyOf(k, g)));
      return body.apply(keys);
    });
  }

  @Override
  public Mono<V> cacheAside(K key, Function<? super K, ? extends Mono<V>> loader) {
    Objects.requireNonNull(loader, "loader must not be null");
    return new Call(key, baseKey(key), loader).assembled();
  }

  /**
   * One {@code cacheAside} call: each subscription is a read of its own. It subscribes straight
   * to the read ({@link ReadFlight}) and maps the outcome to the value itself, instead of through
   * {@code defer} and {@code handle}, because on the hit path every operator layer shows.
   */
  private final class Call extends Mono<V> {
    private final K key;
    private final String baseKey;
    private final Function<? super K, ? extends Mono<V>> loader;

    Call(K key, String baseKey, Function<? super K, ? extends Mono<V>> loader) {
      this.key = key;
      this.baseKey = baseKey;
      this.loader = loader;
    }

    /** This call as the assembly hooks (debug tracebacks, if installed) want it. */
    Mono<V> assembled() {
      return onAssembly(this);
    }

    @Override
    public void subscribe(CoreSubscriber<? super V> actual) {
      Mono<Outcome<V>> outcome;
      try {
        long current = generation.currentIfFresh();
        outcome = current >= 0
            ? read(Generation.keyOf(baseKey, current))
            : generation.refresh().flatMap(g -> read(Generation.keyOf(baseKey, g)));
      } catch (Throwable e) {
        Operators.error(actual, Operators.onOperatorError(e, actual.currentContext()));
        return;
      }
      outcome.subscribe(new ValueOf(actual));
    }

    private Mono<Outcome<V>> read(String storeKey) {
      Read<K, V> read = new Read<>(key, storeKey, loader);
      return settings.shareReads() ? joinFlight(read) : new ReadFlight<>(
          DefaultCacheAside.this, read, false, () -> { });
    }
  }

  /** Counts a read's outcome for its caller and emits the value ("not found" completes empty). */
  private final class ValueOf extends Operators.MonoSubscriber<Outcome<V>, V> {
    @SuppressWarnings("NotNullFieldNotInitialized")
    private Subscription upstream;
    private @Nullable Outcome<V> outcome;

    ValueOf(CoreSubscriber<? super V> actual) {
      super(actual);
    }

    @Override
    public void onSubscribe(Subscription s) {
      if (Operators.validate(upstream, s)) {
        upstream = s;
        actual.onSubscribe(this);
        s.request(Long.MAX_VALUE);
      }
    }

    @Override
    public void onNext(Outcome<V> o) {
      outcome = o;
    }

    @Override
    public void onComplete() {
      Outcome<V> o = outcome;
      if (o == null) {
        actual.onComplete();
        return;
      }
      count(o);
      V value = o.value();
      if (value != null) {
        complete(value);
      } else {
        actual.onComplete();
      }
    }

    @Override
    public void cancel() {
      super.cancel();
      upstream.cancel();
    }
  }

  void count(Outcome<V> outcome) {
    switch (outcome.kind()) {
      case HIT -> stats.hits.increment();
      case NEGATIVE_HIT -> stats.negativeHits.increment();
      case STALE_HIT -> stats.staleHits.increment();
      case LOADED -> stats.misses.increment();
      default -> throw new IllegalStateException("unknown outcome " + outcome.kind());
    }
  }

  /**
   * Joins the key's read in flight, or starts one. A flight always begins with the store read,
   * never with the load (see the class comment).
   */
  Mono<Outcome<V>> joinFlight(Read<K, V> read) {
    String storeKey = read.storeKey();
    Flight<V> existing = inflight.get(storeKey);
    if (existing != null) {
      stats.coalesced.increment();
      return existing.mono;
    }
    Flight<V> flight = new Flight<>();
    // The flight leaves the map before its outcome travels on, so a read started by a caller
    // that already has the outcome never joins the finished flight and is answered and counted
    // twice. A flight never cancels its read, so no cancel path is needed.
    flight.mono = new ReadFlight<>(this, read, true, () -> inflight.remove(storeKey, flight));
    existing = inflight.putIfAbsent(storeKey, flight);
    if (existing != null) {
      stats.coalesced.increment();
      return existing.mono;
    }
    return flight.mono;
  }

  CacheStore store() {
    return store;
  }

  /** A miss. A refresh of the key in flight is the load; else the lease, or a load. */
  Mono<Outcome<V>> onMiss(Read<K, V> read, boolean mayRetry) {
    return refresher.joinOr(read.storeKey(), null, () -> leaseOrLoad(read, mayRetry));
  }

  /** Without leases, load and store; with them, ask for the lease. */
  private Mono<Outcome<V>> leaseOrLoad(Read<K, V> read, boolean mayRetry) {
    if (!settings.leases()) {
      return load(read, true, null, null);
    }
    return store.getOrLease(read.storeKey(), settings.leaseTtl())
        .onErrorResume(e -> {
          storeError("getOrLease", read.storeKey(), e);
          return Mono.empty();
        })
        .flatMap(lookup -> onLookup(read, lookup, mayRetry, () -> {
          stats.leaseWaits.increment();
          long now = settings.scheduler().now(TimeUnit.MILLISECONDS);
          long deadline = now + settings.leaseWait().toMillis();
          if (now >= deadline) {
            return load(read, false, null, null);
          }
          // The first wait's watch starts after the answer: watching before every miss's lookup
          // would cost each uncontended miss a watch for a race inside one round trip.
          return Mono.using(() -> watch(List.of(read.storeKey())),
              watch -> awaitLease(read, deadline, settings.leaseBackoffMin().toMillis(), watch),
              LeaseWatch::dispose);
        }))
        // The store failed: answer from the loader, and store nothing without a lease.
        .switchIfEmpty(Mono.defer(() -> load(read, false, null, null)));
  }

  /** Found: decode it; granted: load and store under the lease; else {@code contended}. */
  private Mono<Outcome<V>> onLookup(Read<K, V> read, StoreLookup lookup, boolean mayRetry,
      Supplier<Mono<Outcome<V>>> contended) {
    if (lookup instanceof StoreLookup.Found found) {
      return onFound(read, found.value(), mayRetry);
    }
    if (lookup instanceof StoreLookup.Granted granted) {
      return load(read, true, granted.token(), null);
    }
    return contended.get();
  }

  /**
   * Another caller holds the lease: look again until its value appears, its lease passes to us
   * (expired or released), or the wait budget is spent. Each look waits for the backoff step or
   * the store's word that the lease ended, whichever comes first ({@link #wakeUp}); the word is
   * watched from before the look that found the lease still held ({@code watch}), so a store
   * made during that look is not missed. Timers run on the configured scheduler.
   *
   * @param watch the key's watch, disposed here when the next look starts or the waiting ends
   *     (and by the caller's {@code Mono.using} on any end, a cancel included)
   */
  private Mono<Outcome<V>> awaitLease(Read<K, V> read, long deadline, long delayMillis,
      LeaseWatch watch) {
    if (settings.scheduler().now(TimeUnit.MILLISECONDS) >= deadline) {
      watch.dispose();
      return load(read, false, null, null);
    }
    long next = Math.min(delayMillis * 2, settings.leaseBackoffMax().toMillis());
    List<String> keys = List.of(read.storeKey());
    return wakeUp(delayMillis, watch, keys)
        .then(Mono.using(() -> {
          watch.dispose();
          return watch(keys);
        }, nextWatch -> store.getOrLease(read.storeKey(), settings.leaseTtl())
            .onErrorResume(e -> {
              storeError("getOrLease", read.storeKey(), e);
              return Mono.empty();
            })
            .flatMap(lookup -> {
              if (!(lookup instanceof StoreLookup.Contended)) {
                // Done waiting: hold no watch through a load (nor wake on our own store).
                nextWatch.dispose();
              }
              return onLookup(read, lookup, false,
                  () -> awaitLease(read, deadline, next, nextWatch));
            })
            .switchIfEmpty(Mono.defer(() -> {
              nextWatch.dispose();
              return load(read, false, null, null);
            })),
            LeaseWatch::dispose));
  }

  /** A watch on the lease ends of {@code storeKeys}, from now ({@link LeaseWatch}). */
  LeaseWatch watch(List<String> storeKeys) {
    return new LeaseWatch(store, storeKeys);
  }

  /**
   * Completes after {@code delayMillis} on the configured scheduler, or sooner when
   * {@code watch} saw the leases on all of {@code storeKeys} end. A step the store's word cut
   * short is counted in {@link CacheStats#leaseWakeups()}.
   */
  Mono<Void> wakeUp(long delayMillis, LeaseWatch watch, List<String> storeKeys) {
    Mono<Boolean> timer = Mono.delay(Duration.ofMillis(delayMillis), settings.scheduler())
        .map(tick -> false);
    // The watch first: when it has already seen the end, the race is won before the timer is
    // even scheduled.
    return Mono.firstWithSignal(watch.ended(storeKeys).thenReturn(true), timer)
        .doOnNext(woken -> {
          if (woken) {
            stats.leaseWakeups.increment();
          }
        })
        .then();
  }

  /** The store returned bytes: fresh, stale or corrupt. */
  private Mono<Outcome<V>> onFound(Read<K, V> read, byte[] bytes, boolean mayRetry) {
    return onDecoded(read, decode(read.storeKey(), bytes), mayRetry);
  }

  /** A decoded entry: fresh answers, stale is refreshed, corrupt is deleted and read again. */
  Mono<Outcome<V>> onDecoded(Read<K, V> read, Decoded<V> decoded, boolean mayRetry) {
    return switch (decoded.state()) {
      case FRESH -> {
        refresher.onHit(read, Objects.requireNonNull(decoded.envelope()));
        yield Mono.just(Outcome.hit(decoded.value()));
      }
      case STALE -> refreshStale(read, decoded.value());
      case CORRUPT -> deleteCorrupt(List.of(read.storeKey())).then(Mono.defer(() -> mayRetry
          ? onMiss(read, false)
          : load(read, false, null, null)));
    };
  }

  /** Deletes entries that could not be decoded; a failing delete is counted and ignored. */
  Mono<Void> deleteCorrupt(List<String> storeKeys) {
    return store.delete(storeKeys).onErrorResume(e -> {
      storeError("delete", storeKeys.size() == 1 ? storeKeys.get(0) : storeKeys.toString(), e);
      return Mono.empty();
    });
  }

  /**
   * A stale value within grace: one caller (the lease winner) loads; everyone else is served the
   * stale value meanwhile. The winner is never served the stale value as fresh, only if its load
   * fails (stale-if-error).
   */
  private Mono<Outcome<V>> refreshStale(Read<K, V> read, @Nullable V staleValue) {
    Outcome<V> stale = Outcome.stale(staleValue);
    return refresher.joinOr(read.storeKey(), stale, () -> leaseOrLoadStale(read, stale));
  }

  private Mono<Outcome<V>> leaseOrLoadStale(Read<K, V> read, Outcome<V> stale) {
    if (!settings.leases()) {
      return load(read, true, null, stale);
    }
    // tryLease: a token = we refresh; empty = somebody else does, serve stale; error = the store
    // is failing, so refresh without storing.
    return store.tryLease(read.storeKey(), settings.leaseTtl())
        .map(Optional::of)
        .onErrorResume(e -> {
          storeError("tryLease", read.storeKey(), e);
          return Mono.just(Optional.empty());
        })
        .flatMap(token -> token.isPresent()
            ? load(read, true, token.get(), stale)
            : load(read, false, null, stale))
        .switchIfEmpty(Mono.fromSupplier(() -> stale));
  }

  /**
   * What a stored entry says: a fresh value or "not found", a stale one (past its logical expiry,
   * within grace), or nothing usable (corrupt: counted and logged; the caller deletes it). The
   * envelope (null when corrupt) carries the times early refresh weighs.
   */
  record Decoded<V>(State state, @Nullable V value, @Nullable Envelope envelope) {
    enum State { FRESH, STALE, CORRUPT }
  }

  /** Decodes the envelope and the value; shared by the single-key and the bulk read. */
  Decoded<V> decode(String storeKey, byte[] bytes) {
    Envelope envelope;
    try {
      envelope = Envelope.decode(bytes);
    } catch (Envelope.Corrupt e) {
      corrupt(storeKey, e);
      return new Decoded<>(Decoded.State.CORRUPT, null, null);
    }
    V value = null;
    if (!envelope.negative()) {
      try {
        value = codec.decode(envelope.data(), envelope.offset(), envelope.payloadLength());
        if (value == null) {
          throw new IllegalStateException("codec " + codec + " decoded null");
        }
      } catch (RuntimeException e) {
        corrupt(storeKey, e);
        return new Decoded<>(Decoded.State.CORRUPT, null, null);
      }
    }
    return new Decoded<>(envelope.isStale(settings.clock().millis())
        ? Decoded.State.STALE : Decoded.State.FRESH, value, envelope);
  }

  private void corrupt(String storeKey, RuntimeException e) {
    stats.corruptEntries.increment();
    LOG.warn("cache '{}': entry {} cannot be decoded ({}); treating it as a miss and deleting it",
        settings.name(), storeKey, e.toString());
  }

  void storeError(String operation, String storeKey, Throwable e) {
    Exceptions.throwIfJvmFatal(e);
    stats.storeErrors.increment();
    LOG.debug("cache '{}': store {} of {} failed: {}", settings.name(), operation, storeKey,
        e.toString());
  }

  /**
   * Calls the loader and, if {@code cacheResult}, stores what it returns: under {@code token}
   * when leased, unconditionally when {@code token} is null (leases off). A failure with a
   * {@code stale} outcome at hand serves it (stale-if-error); otherwise the error propagates and
   * nothing is stored. The lease is released whenever nothing is stored under it.
   */
  private Mono<Outcome<V>> load(Read<K, V> read, boolean cacheResult, @Nullable String token,
      @Nullable Outcome<V> stale) {
    return Mono.defer(() -> {
      stats.loads.increment();
      long startMillis = settings.clock().millis();
      long startNanos = System.nanoTime();
      Mono<V> source = callLoader(() -> read.loader().apply(read.key()),
          () -> "key " + read.key());
      return source
          .map(Outcome::<V>loaded)
          .defaultIfEmpty(Outcome.loaded(null))
          .onErrorResume(e -> {
            stats.totalLoadTimeNanos.add(System.nanoTime() - startNanos);
            stats.loadFailures.increment();
            Mono<Void> release = release(read.storeKey(), token);
            if (stale != null) {
              LOG.debug("cache '{}': load of {} failed ({}); serving the stale value",
                  settings.name(), read.storeKey(), e.toString());
              return release.thenReturn(stale);
            }
            return release.then(Mono.error(e));
          })
          .flatMap(outcome -> {
            if (outcome.kind() != Outcome.Kind.LOADED) {
              return Mono.just(outcome);
            }
            long loadNanos = System.nanoTime() - startNanos;
            stats.totalLoadTimeNanos.add(loadNanos);
            if (!cacheResult) {
              return Mono.just(outcome);
            }
            return save(read, token, outcome.value(), startMillis).thenReturn(outcome);
          });
    });
  }

  /**
   * Applies the configured {@link LoadDecorator} to a deferred loader call, so a bulkhead can hold
   * the call itself back; a decorator that throws fails the load, not the cache.
   */
  private <T> Mono<T> decorated(Mono<T> deferredLoad) {
    try {
      return Objects.requireNonNull(settings.loadDecorator().decorate(deferredLoad),
          () -> "cache '" + settings.name() + "': load decorator returned null");
    } catch (Throwable t) {
      Exceptions.throwIfJvmFatal(t);
      return Mono.error(t);
    }
  }

  /**
   * Calls a loader when the configured {@link LoadDecorator} lets it (lazily), turning a throw or
   * a null Mono into an error signal: a user's loader must not break the cache. Shared by the
   * single-key and the bulk load, so both pass the same bulkhead.
   */
  <T> Mono<T> callLoader(Supplier<? extends @Nullable Mono<T>> call, Supplier<String> what) {
    return decorated(Mono.defer(() -> {
      try {
        Mono<T> source = call.get();
        return source != null ? source : Mono.error(new NullPointerException("cache '"
            + settings.name() + "': loader returned null instead of a Mono for " + what.get()));
      } catch (Throwable t) {
        Exceptions.throwIfJvmFatal(t);
        return Mono.error(t);
      }
    }));
  }

  /** Encodes and stores a loaded value (or "not found"); a codec failure fails the call. */
  private Mono<Void> save(Read<K, V> read, @Nullable String token, @Nullable V value,
      long loadedAt) {
    Encoded encoded;
    try {
      encoded = encode(read.storeKey(), value, loadedAt);
    } catch (CodecException e) {
      return release(read.storeKey(), token).then(Mono.error(e));
    }
    if (encoded == null) {
      return release(read.storeKey(), token);
    }
    Mono<Void> write = token == null
        ? store.set(read.storeKey(), encoded.bytes(), encoded.ttl())
        : store.setIfLeased(read.storeKey(), token, encoded.bytes(), encoded.ttl())
            .doOnNext(stored -> {
              if (!stored) {
                stats.leasesLost.increment();
              }
            }).then();
    return write.onErrorResume(e -> {
      storeError(token == null ? "set" : "setIfLeased", read.storeKey(), e);
      return Mono.empty();
    });
  }

  /** An entry ready to store: the envelope's bytes and its physical TTL (logical + grace). */
  record Encoded(byte[] bytes, Duration ttl) {}

  /**
   * Builds the entry for a loaded value, or for "not found" when {@code value} is null: the
   * envelope with a jittered TTL. Shared by the single-key and the bulk store.
   *
   * @return the entry, or null when nothing is to be stored (a zero negative TTL, or a value over
   *     {@code maxValueBytes}: counted and logged)
   * @throws CodecException when the codec cannot encode the value
   */
  @Nullable Encoded encode(String storeKey, @Nullable V value, long loadedAt) {
    long now = settings.clock().millis();
    // By the injected clock, like loadedAt, so virtual-time tests and simulations see their loads'
    // durations; early refresh weighs it. A wall clock stepping back reads as 0.
    int loadMillis = (int) Math.min(Integer.MAX_VALUE, Math.max(0, now - loadedAt));
    Envelope envelope;
    if (value == null) {
      if (settings.negativeTtl().isZero()) {
        return null;
      }
      long ttl = jittered(settings.negativeTtl());
      envelope = Envelope.negative(loadedAt, now + ttl, loadMillis);
    } else {
      byte[] payload;
      try {
        payload = codec.encode(value);
        Objects.requireNonNull(payload, "codec returned null");
      } catch (RuntimeException e) {
        throw new CodecException("cache '" + settings.name() + "': codec " + codec
            + " cannot encode the value loaded for key " + storeKey + ": " + e.getMessage(), e);
      }
      if (payload.length > settings.maxValueBytes()) {
        stats.uncachedValues.increment();
        LOG.warn("cache '{}': value of {} is {} bytes, over maxValueBytes {}; served, not cached",
            settings.name(), storeKey, payload.length, settings.maxValueBytes());
        return null;
      }
      long ttl = jittered(settings.ttl());
      envelope = Envelope.positive(loadedAt, now + ttl, loadMillis, payload);
    }
    Duration physical = Duration.ofMillis(envelope.expiresAt() - now).plus(settings.staleGrace());
    return new Encoded(envelope.encode(), physical);
  }

  /** Gives a lease back (nothing when {@code token} is null); a failure is counted and ignored. */
  Mono<Void> release(String storeKey, @Nullable String token) {
    if (token == null) {
      return Mono.empty();
    }
    return store.releaseLease(storeKey, token).onErrorResume(e -> {
      storeError("releaseLease", storeKey, e);
      return Mono.empty();
    });
  }

  /** A TTL drawn uniformly from {@code base × (1 ± jitter)}, in millis, at least 1. */
  private long jittered(Duration base) {
    long millis = base.toMillis();
    double jitter = settings.ttlJitter();
    if (jitter == 0.0) {
      return millis;
    }
    double factor = 1.0 + jitter * (2.0 * ThreadLocalRandom.current().nextDouble() - 1.0);
    return Math.max(1L, Math.round(millis * factor));
  }

  @Override
  public Flux<BulkResult<K, V>> cacheAsideAll(Publisher<? extends K> keys,
      BulkLoader<K, V> loader) {
    return bulk.read(keys, loader, BulkOrder.COMPLETION);
  }

  @Override
  public Flux<BulkResult<K, V>> cacheAsideAll(Publisher<? extends K> keys,
      BulkLoader<K, V> loader, BulkOrder order) {
    return bulk.read(keys, loader, order);
  }

  @Override
  public Mono<Void> invalidate(K key) {
    // The in-flight entry goes before the completion signal travels on, so a read subscribed
    // once this Mono completed cannot join a read that began before the delete.
    return withStoreKey(baseKey(key),
        storeKey -> store.delete(storeKey).doOnTerminate(() -> forget(storeKey)));
  }

  /** After an invalidation: no later read may join a read or refresh that began before it. */
  private void forget(String storeKey) {
    inflight.remove(storeKey);
    refresher.forget(storeKey);
  }

  @Override
  public Mono<Void> invalidateAll(Collection<? extends K> keys) {
    Objects.requireNonNull(keys, "keys must not be null");
    List<String> baseKeys = new ArrayList<>(keys.size());
    for (K key : keys) {
      baseKeys.add(baseKey(key));
    }
    if (baseKeys.isEmpty()) {
      return Mono.empty();
    }
    return withStoreKeys(baseKeys, storeKeys ->
        store.delete(storeKeys).doOnTerminate(() -> storeKeys.forEach(this::forget)));
  }

  @Override
  public Mono<Long> bumpGeneration() {
    return generation.bump();
  }

  @Override
  public <R> Mono<R> writeThenInvalidate(K key, Mono<R> write) {
    Objects.requireNonNull(write, "write must not be null");
    String baseKey = baseKey(key);
    Mono<Void> invalidation = withStoreKey(baseKey,
            storeKey -> store.delete(storeKey).doOnTerminate(() -> forget(storeKey)))
        .retryWhen(Retry.backoff(3, Duration.ofMillis(20)).scheduler(settings.scheduler()))
        .onErrorResume(e -> {
          stats.invalidationFailures.increment();
          LOG.error("cache '{}': invalidation of {} failed after its write succeeded; the entry may"
              + " be stale until its TTL: {}", settings.name(), baseKey, e.toString());
          return Mono.empty();
        });
    return write
        .flatMap(result -> invalidation.thenReturn(result))
        .switchIfEmpty(invalidation.then(Mono.empty()));
  }

  @Override
  public String toString() {
    return "CacheAside[" + settings.name() + ", store=" + store + ", codec=" + codec + "]";
  }
}
