package dev.cacheaside.core;

import dev.cacheaside.core.CacheStore.KeyedLookup;
import dev.cacheaside.core.CacheStore.LeasedEntry;
import dev.cacheaside.core.CacheStore.StoreEntry;
import dev.cacheaside.core.DefaultCacheAside.Decoded;
import dev.cacheaside.core.DefaultCacheAside.Encoded;
import dev.cacheaside.core.DefaultCacheAside.Flight;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import org.jspecify.annotations.Nullable;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.util.Logger;
import reactor.util.Loggers;

/**
 * The bulk read behind {@link CacheAside#cacheAsideAll}: the key stream is cut into windows
 * ({@code bufferTimeout} with fair backpressure, so an unbounded key stream is pulled only as fast
 * as results are consumed), and at most {@code concurrency} windows run at a time.
 *
 * <h2>One window</h2>
 * <ol>
 *   <li>Keys are de-duplicated by store key; one {@code getAll} answers the fresh hits, which
 *       are emitted at once. Hits cost this one round trip and nothing else.</li>
 *   <li>Every other key (absent, stale, corrupt) is registered in the cache's in-flight map, the
 *       same map the single-key path uses: a key already there (a single-key read or another
 *       window) is joined; the rest become this window's flights, so a concurrent
 *       {@code cacheAside(k)} joins this load. As in the single-key path, the registered flight
 *       reads the store again before loading ({@code getOrLeaseAll} with leases, a second
 *       {@code getAll} without): a key another flight stored and left the map with between our
 *       {@code getAll} and our registration is then a hit, not a second load.</li>
 *   <li>Keys leased to this window are loaded by the {@link BulkLoader} in chunks and stored in
 *       one {@code setAllIfLeased} per chunk; keys leased elsewhere are polled in batches with
 *       the single-key path's backoff and wait budget; stale keys are refreshed by whoever wins
 *       {@code tryLease} and served stale to the others.</li>
 * </ol>
 * Fresh hits that early refresh finds due are refreshed together in the background: one bulk load
 * of those whose leases the refresh wins ({@link BackgroundRefresher#onHits}, {@link
 * Window#refreshDue}).
 * Envelope, TTL and jitter, negative entries, codec and lease release are the single-key path's
 * own code ({@link DefaultCacheAside#decode}, {@link DefaultCacheAside#encode},
 * {@link DefaultCacheAside#release}), so the two paths cannot drift apart.
 *
 * <h2>Cancellation</h2>
 * Once a window has registered flights, other callers may be waiting on them, and it may hold
 * leases. Its work is therefore {@code cache()}d, which does not cancel its source when the
 * subscriber cancels (the single-key flights rely on the same property): cancelling the stream
 * stops new windows, while started windows load, store, complete their flights and leave the
 * map. A flight that its window somehow failed to answer is completed with an error when the
 * window ends, never left hanging.
 */
final class BulkRead<K, V> {
  private static final Logger LOG = Loggers.getLogger(CacheAside.class);

  private final DefaultCacheAside<K, V> cache;
  private final CacheSettings<K, V> settings;
  private final CacheSettings.Bulk options;
  private final CacheStore store;
  private final StatsCounter stats;
  private final ConcurrentHashMap<String, Flight<V>> inflight;
  private final BackgroundRefresher<K, V> refresher;
  /** Whether fresh hits are offered to early refresh; when not, no list of them is built. */
  private final boolean refreshes;

  BulkRead(DefaultCacheAside<K, V> cache) {
    this.cache = cache;
    this.settings = cache.settings();
    this.options = settings.bulk();
    this.store = settings.store();
    this.stats = cache.counters();
    this.inflight = cache.inflight();
    this.refresher = cache.refresher();
    this.refreshes = !settings.refresh().policy().isNone();
  }

  /** One requested key and its formatted key (formatted as it arrives, so bad keys fail early). */
  private record Request<K>(K key, String baseKey) {}

  /**
   * One distinct store key of a window: the requests it answers, and its answer once known.
   * Written by the window's work and read by its emission, which the operators between them
   * order (happens-before through their queues).
   */
  private static final class Slot<K, V> {
    final K key;
    final String storeKey;
    /** Further requests of this store key in the window, in order; null when there are none. */
    @Nullable List<K> more;
    /** The stale value found, served if a refresh is not ours or fails. */
    @Nullable Outcome<V> stale;
    /** This window's flight for the key, when it owns one. */
    @Nullable Flight<V> flight;
    Sinks.@Nullable One<Outcome<V>> sink;
    /** Another caller's flight this window joined. */
    @Nullable Mono<Outcome<V>> joined;
    @Nullable Outcome<V> outcome;
    @Nullable Throwable error;
    boolean finished;

    Slot(K key, String storeKey) {
      this.key = key;
      this.storeKey = storeKey;
    }
  }

  /** A key to load: under a lease {@code token}, or without one (leases off, or not storable). */
  private record Load<K, V>(Slot<K, V> slot, @Nullable String token, boolean cacheResult) {}

  Flux<BulkResult<K, V>> read(Publisher<? extends K> keys, BulkLoader<K, V> loader,
      BulkOrder order) {
    Objects.requireNonNull(keys, "keys must not be null");
    Objects.requireNonNull(loader, "loader must not be null");
    Objects.requireNonNull(order, "order must not be null");
    Flux<List<Request<K>>> windows = Flux.<K>from(keys)
        .map(key -> new Request<>(key, cache.baseKey(key)))
        .bufferTimeout(options.windowSize(), options.windowTime(), settings.scheduler(), true);
    Flux<BulkResult<K, V>> results = order == BulkOrder.COMPLETION
        ? windows.flatMap(w -> new Window(w, loader).completionOrder(), options.concurrency())
        : windows.flatMapSequential(w -> new Window(w, loader).requestOrder(),
            options.concurrency());
    if (!options.failOnLoadError()) {
      return results;
    }
    return results.handle((result, sink) -> {
      Throwable error = result.error();
      if (error != null) {
        sink.error(error);
      } else {
        sink.next(result);
      }
    });
  }

  private final class Window {
    private final List<Request<K>> requests;
    private final BulkLoader<K, V> loader;
    private final List<Slot<K, V>> slotOfRequest;

    Window(List<Request<K>> requests, BulkLoader<K, V> loader) {
      this.requests = requests;
      this.loader = loader;
      this.slotOfRequest = new ArrayList<>(requests.size());
    }

    Flux<BulkResult<K, V>> completionOrder() {
      return answers().flatMapIterable(batch -> {
        count(batch);
        List<BulkResult<K, V>> results = new ArrayList<>(batch.size());
        for (Slot<K, V> slot : batch) {
          results.add(result(slot, slot.key));
          List<K> more = slot.more;
          if (more != null) {
            more.forEach(key -> results.add(result(slot, key)));
          }
        }
        return results;
      });
    }

    Flux<BulkResult<K, V>> requestOrder() {
      return answers().doOnNext(this::count).thenMany(Flux.range(0, requests.size())
          .map(i -> result(slotOfRequest.get(i), requests.get(i).key())));
    }

    /**
     * Counts the outcomes of a batch, each as often as it was requested, with one add per kind
     * instead of one increment per request (errors are not outcomes, as on the single-key path).
     */
    private void count(List<Slot<K, V>> batch) {
      long hits = 0;
      long negativeHits = 0;
      long staleHits = 0;
      long misses = 0;
      for (Slot<K, V> slot : batch) {
        Outcome<V> outcome = slot.outcome;
        if (slot.error != null || outcome == null) {
          continue;
        }
        List<K> more = slot.more;
        int requested = more == null ? 1 : 1 + more.size();
        switch (outcome.kind()) {
          case HIT -> hits += requested;
          case NEGATIVE_HIT -> negativeHits += requested;
          case STALE_HIT -> staleHits += requested;
          case LOADED -> misses += requested;
          default -> throw new IllegalStateException("unknown outcome " + outcome.kind());
        }
      }
      add(stats.hits, hits);
      add(stats.negativeHits, negativeHits);
      add(stats.staleHits, staleHits);
      add(stats.misses, misses);
    }

    private BulkResult<K, V> result(Slot<K, V> slot, K key) {
      Throwable error = slot.error;
      if (error != null) {
        return BulkResult.failed(key, error);
      }
      Outcome<V> outcome = Objects.requireNonNull(slot.outcome, "answered slot has no outcome");
      V value = outcome.value();
      return value == null ? BulkResult.absent(key) : BulkResult.found(key, value);
    }

    /**
     * Every distinct key of the window, answered, in batches as they complete (the hits, then
     * each chunk): one signal per batch, not per key, keeps the operators' cost per window.
     */
    private Flux<List<Slot<K, V>>> answers() {
      return cache.currentGeneration().flatMapMany(generation -> {
        Map<String, Slot<K, V>> byStoreKey = new LinkedHashMap<>(requests.size() * 2);
        for (Request<K> request : requests) {
          String storeKey = Generation.keyOf(request.baseKey(), generation);
          Slot<K, V> slot = byStoreKey.get(storeKey);
          if (slot == null) {
            slot = new Slot<>(request.key(), storeKey);
            byStoreKey.put(storeKey, slot);
          } else {
            if (slot.more == null) {
              slot.more = new ArrayList<>(2);
            }
            slot.more.add(request.key());
            stats.coalesced.increment();
          }
          slotOfRequest.add(slot);
        }
        return read(new ArrayList<>(byStoreKey.values()));
      });
    }

    /** Step 1: one multi-get; fresh hits are answered, the rest go on to their flights. */
    private Flux<List<Slot<K, V>>> read(List<Slot<K, V>> slots) {
      return getAll(slots).flatMapMany(found -> {
        List<Slot<K, V>> hits = new ArrayList<>(slots.size());
        List<BackgroundRefresher.Hit> fresh = refreshes ? new ArrayList<>(slots.size()) : List.of();
        List<Slot<K, V>> pending = new ArrayList<>();
        List<String> corrupt = new ArrayList<>();
        for (Slot<K, V> slot : slots) {
          byte[] bytes = found.get(slot.storeKey);
          if (bytes == null) {
            pending.add(slot);
            continue;
          }
          Decoded<V> decoded = cache.decode(slot.storeKey, bytes);
          switch (decoded.state()) {
            case FRESH -> {
              hits.add(answer(slot, Outcome.hit(decoded.value())));
              if (refreshes) {
                fresh.add(new BackgroundRefresher.Hit(slot.storeKey,
                    Objects.requireNonNull(decoded.envelope())));
              }
            }
            case STALE -> {
              slot.stale = Outcome.stale(decoded.value());
              pending.add(slot);
            }
            case CORRUPT -> {
              corrupt.add(slot.storeKey);
              pending.add(slot);
            }
          }
        }
        if (refreshes) {
          refresher.onHits(fresh, storeKeys -> refreshDue(storeKeys, hits));
        }
        if (pending.isEmpty()) {
          return batch(hits);
        }
        // Detached from the subscriber once flights exist: see the class comment.
        Flux<List<Slot<K, V>>> rest = Flux.defer(() -> fly(pending, corrupt)).cache();
        return hits.isEmpty() ? rest : Flux.merge(batch(hits), rest);
      });
    }

    /** Step 2: register the window's flights (or join others'), and answer them. */
    private Flux<List<Slot<K, V>>> fly(List<Slot<K, V>> pending, List<String> corrupt) {
      List<Slot<K, V>> owned = new ArrayList<>(pending.size());
      List<Slot<K, V>> joined = new ArrayList<>();
      for (Slot<K, V> slot : pending) {
        Sinks.One<Outcome<V>> sink = Sinks.one();
        Flight<V> flight = new Flight<>();
        flight.mono = sink.asMono();
        Flight<V> existing = inflight.putIfAbsent(slot.storeKey, flight);
        if (existing == null) {
          slot.flight = flight;
          slot.sink = sink;
          owned.add(slot);
        } else {
          stats.coalesced.increment();
          slot.joined = existing.mono;
          joined.add(slot);
        }
      }
      Flux<List<Slot<K, V>>> mine = owned.isEmpty() ? Flux.empty()
          : deleteCorrupt(corrupt)
              .thenMany(Flux.defer(() -> resolve(owned)))
              .doOnNext(batch -> batch.forEach(this::finish))
              .doFinally(signal -> abandon(owned));
      Flux<List<Slot<K, V>>> theirs = joined.isEmpty() ? Flux.empty()
          : Flux.fromIterable(joined).flatMap(slot -> Objects.requireNonNull(slot.joined)
              .map(outcome -> answer(slot, outcome))
              .onErrorResume(e -> Mono.just(fail(slot, e)))
              // an empty flight never happens (outcomes carry "not found"); guard anyway
              .switchIfEmpty(Mono.fromSupplier(() -> fail(slot,
                  new IllegalStateException("joined read of " + slot.storeKey + " ended empty"))))
              .map(List::of), joined.size());
      return Flux.merge(mine, theirs);
    }

    private Flux<List<Slot<K, V>>> resolve(List<Slot<K, V>> owned) {
      List<Slot<K, V>> misses = new ArrayList<>(owned.size());
      List<Slot<K, V>> stale = new ArrayList<>();
      for (Slot<K, V> slot : owned) {
        (slot.stale != null ? stale : misses).add(slot);
      }
      Flux<List<Slot<K, V>>> missed = misses.isEmpty() ? Flux.empty()
          : settings.leases() ? leaseRound(misses, -1, settings.leaseBackoffMin().toMillis())
          : recheck(misses);
      return Flux.merge(missed, refresh(stale));
    }

    /** Leases off: read the missed keys again inside their flights, then load what is missing. */
    private Flux<List<Slot<K, V>>> recheck(List<Slot<K, V>> slots) {
      return getAll(slots).flatMapMany(found -> {
        List<Slot<K, V>> answered = new ArrayList<>();
        List<Load<K, V>> loads = new ArrayList<>(slots.size());
        List<Slot<K, V>> stale = new ArrayList<>();
        List<String> corrupt = new ArrayList<>();
        for (Slot<K, V> slot : slots) {
          byte[] bytes = found.get(slot.storeKey);
          if (bytes == null) {
            loads.add(new Load<>(slot, null, true));
          } else {
            sort(slot, cache.decode(slot.storeKey, bytes), answered, stale, corrupt, loads);
          }
        }
        return Flux.merge(batch(answered), deleteCorrupt(corrupt).thenMany(load(loads)),
            refresh(stale));
      });
    }

    /**
     * Leases on: one {@code getOrLeaseAll} for the keys; granted keys are loaded, keys leased
     * elsewhere are polled again after {@code delayMillis} until {@code deadline} (-1: this is
     * the first round, which sets it), then loaded without storing, as the single-key path does.
     */
    private Flux<List<Slot<K, V>>> leaseRound(List<Slot<K, V>> slots, long deadline,
        long delayMillis) {
      List<String> keys = storeKeys(slots);
      if (deadline < 0) {
        return look(slots, keys, deadline, delayMillis, null);
      }
      // A look again after a wait: watch its keys from before the look, so that stores made
      // while it is on its way are not missed (see LeaseWatch).
      return Flux.using(() -> cache.watch(keys),
          watch -> look(slots, keys, deadline, delayMillis, watch), LeaseWatch::dispose);
    }

    private Flux<List<Slot<K, V>>> look(List<Slot<K, V>> slots, List<String> keys,
        long deadline, long delayMillis, @Nullable LeaseWatch watch) {
      return store.getOrLeaseAll(keys, settings.leaseTtl())
          .collectMap(KeyedLookup::key, KeyedLookup::lookup)
          .onErrorResume(e -> {
            cache.storeError("getOrLeaseAll", describe(keys), e);
            return Mono.just(Map.of());
          })
          .flatMapMany(lookups -> {
            boolean first = deadline < 0;
            long until = first ? now() + settings.leaseWait().toMillis() : deadline;
            List<Slot<K, V>> answered = new ArrayList<>();
            List<Load<K, V>> loads = new ArrayList<>(slots.size());
            List<Slot<K, V>> stale = new ArrayList<>();
            List<Slot<K, V>> contended = new ArrayList<>();
            List<String> corrupt = new ArrayList<>();
            for (Slot<K, V> slot : slots) {
              StoreLookup lookup = lookups.get(slot.storeKey);
              if (lookup instanceof StoreLookup.Granted granted) {
                loads.add(new Load<>(slot, granted.token(), true));
              } else if (lookup instanceof StoreLookup.Contended) {
                if (first) {
                  stats.leaseWaits.increment();
                }
                contended.add(slot);
              } else if (lookup instanceof StoreLookup.Found found) {
                sort(slot, cache.decode(slot.storeKey, found.value()), answered, stale, corrupt,
                    loads);
              } else {
                // The store failed (or answered nothing for the key): load, store nothing.
                loads.add(new Load<>(slot, null, false));
              }
            }
            if (watch != null && contended.isEmpty()) {
              // Done waiting: hold no watch through the loads.
              watch.dispose();
            }
            return Flux.merge(batch(answered), load(loads), refresh(stale),
                deleteCorrupt(corrupt).thenMany(Flux.empty()),
                await(contended, until, delayMillis, watch));
          });
    }

    /**
     * A value found inside a flight: fresh is an answer, stale is refreshed, corrupt is loaded
     * without storing (it was deleted once already, as the single-key path's retry does).
     */
    private void sort(Slot<K, V> slot, Decoded<V> decoded, List<Slot<K, V>> answered,
        List<Slot<K, V>> stale, List<String> corrupt, List<Load<K, V>> loads) {
      switch (decoded.state()) {
        case FRESH -> answered.add(answer(slot, Outcome.hit(decoded.value())));
        case STALE -> {
          slot.stale = Outcome.stale(decoded.value());
          stale.add(slot);
        }
        case CORRUPT -> {
          corrupt.add(slot.storeKey);
          loads.add(new Load<>(slot, null, false));
        }
      }
    }

    /**
     * Waits for the contended keys' leases, then looks again. {@code watch} watches them since
     * before the look that found them contended; null on the first round, which starts its watch
     * now (as the single-key path does).
     */
    private Flux<List<Slot<K, V>>> await(List<Slot<K, V>> contended, long deadline,
        long delayMillis, @Nullable LeaseWatch watch) {
      if (contended.isEmpty()) {
        return Flux.empty();
      }
      if (now() >= deadline) {
        if (watch != null) {
          watch.dispose();
        }
        List<Load<K, V>> loads = new ArrayList<>(contended.size());
        contended.forEach(slot -> loads.add(new Load<>(slot, null, false)));
        return load(loads);
      }
      long next = Math.min(delayMillis * 2, settings.leaseBackoffMax().toMillis());
      List<String> keys = storeKeys(contended);
      // Look again when every contended key's lease ended, or at the backoff step: one more
      // round per key whose lease ends would cost a round trip each, and a bulk load elsewhere
      // usually stores its keys together anyway.
      if (watch == null) {
        return Flux.using(() -> cache.watch(keys), w -> lookAgain(contended, keys, deadline,
            delayMillis, next, w), LeaseWatch::dispose);
      }
      return lookAgain(contended, keys, deadline, delayMillis, next, watch);
    }

    private Flux<List<Slot<K, V>>> lookAgain(List<Slot<K, V>> contended, List<String> keys,
        long deadline, long delayMillis, long next, LeaseWatch watch) {
      return cache.wakeUp(delayMillis, watch, keys).thenMany(Flux.defer(() -> {
        watch.dispose();
        return leaseRound(contended, deadline, next);
      }));
    }

    /**
     * Stale keys: whoever wins {@code tryLease} refreshes (served stale only if its load fails);
     * a key leased elsewhere is served stale at once; a failing store refreshes without storing.
     */
    private Flux<List<Slot<K, V>>> refresh(List<Slot<K, V>> stale) {
      if (stale.isEmpty()) {
        return Flux.empty();
      }
      if (!settings.leases()) {
        List<Load<K, V>> loads = new ArrayList<>(stale.size());
        stale.forEach(slot -> loads.add(new Load<>(slot, null, true)));
        return load(loads);
      }
      return tryLeases(stale, true)
          .flatMapMany(leases -> {
            List<Slot<K, V>> served = new ArrayList<>();
            List<Load<K, V>> loads = new ArrayList<>(leases.size());
            for (int i = 0; i < leases.size(); i++) {
              Optional<Load<K, V>> lease = leases.get(i);
              if (lease.isPresent()) {
                loads.add(lease.get());
              } else {
                Slot<K, V> slot = stale.get(i);
                served.add(answer(slot, Objects.requireNonNull(slot.stale)));
              }
            }
            return Flux.merge(batch(served), load(loads));
          });
    }

    /**
     * Early refresh of this window's due hits, in the background: their leases, then the leased
     * keys in one bulk load (chunked as misses are), stored under their leases by the misses'
     * code. New slots, since the hits' slots hold the callers' answers. A key whose lease is
     * taken, or whose {@code tryLease} fails, is not refreshed: loading what cannot be stored
     * would only load the database.
     */
    private Flux<BackgroundRefresher.KeyResult<V>> refreshDue(List<String> storeKeys,
        List<Slot<K, V>> hits) {
      Map<String, K> keyOf = new LinkedHashMap<>(hits.size() * 2);
      hits.forEach(hit -> keyOf.put(hit.storeKey, hit.key));
      List<Slot<K, V>> slots = new ArrayList<>(storeKeys.size());
      storeKeys.forEach(storeKey -> slots.add(new Slot<>(keyOf.get(storeKey), storeKey)));
      Mono<List<Optional<Load<K, V>>>> leases = settings.leases() ? tryLeases(slots, false)
          : Flux.fromIterable(slots).map(slot -> Optional.of(new Load<>(slot, null, true)))
              .collectList();
      return leases.flatMapMany(granted -> {
        List<BackgroundRefresher.KeyResult<V>> skipped = new ArrayList<>();
        List<Load<K, V>> loads = new ArrayList<>(granted.size());
        for (int i = 0; i < granted.size(); i++) {
          Optional<Load<K, V>> load = granted.get(i);
          if (load.isPresent()) {
            loads.add(load.get());
          } else {
            skipped.add(new BackgroundRefresher.KeyResult<>(slots.get(i).storeKey, null, null));
          }
        }
        return Flux.concat(Flux.fromIterable(skipped), load(loads)
            .flatMapIterable(batch -> batch)
            .map(slot -> new BackgroundRefresher.KeyResult<>(slot.storeKey, slot.outcome,
                slot.error)));
      });
    }

    /**
     * {@code tryLease} of each slot, in order: a load under the token; empty when another caller
     * holds the lease; when the store fails, a load that stores nothing if
     * {@code loadIfStoreFails}, else empty.
     */
    private Mono<List<Optional<Load<K, V>>>> tryLeases(List<Slot<K, V>> slots,
        boolean loadIfStoreFails) {
      return Flux.fromIterable(slots)
          .flatMapSequential(slot -> store.tryLease(slot.storeKey, settings.leaseTtl())
              .map(token -> Optional.of(new Load<>(slot, token, true)))
              .onErrorResume(e -> {
                cache.storeError("tryLease", slot.storeKey, e);
                return Mono.just(loadIfStoreFails
                    ? Optional.of(new Load<>(slot, null, false)) : Optional.empty());
              })
              .defaultIfEmpty(Optional.empty()), slots.size())
          .collectList();
    }

    /** Step 3: the loads, in chunks of at most {@code maxLoadChunk} keys, run concurrently. */
    private Flux<List<Slot<K, V>>> load(List<Load<K, V>> loads) {
      if (loads.isEmpty()) {
        return Flux.empty();
      }
      int chunk = options.maxLoadChunk();
      if (loads.size() <= chunk) {
        return loadChunk(loads);
      }
      List<List<Load<K, V>>> chunks = new ArrayList<>();
      for (int from = 0; from < loads.size(); from += chunk) {
        chunks.add(loads.subList(from, Math.min(loads.size(), from + chunk)));
      }
      return Flux.fromIterable(chunks).flatMap(this::loadChunk, chunks.size());
    }

    private Flux<List<Slot<K, V>>> loadChunk(List<Load<K, V>> chunk) {
      Set<K> keys = new LinkedHashSet<>(chunk.size() * 2);
      chunk.forEach(load -> keys.add(load.slot().key));
      Set<K> view = Collections.unmodifiableSet(keys);
      return Mono.defer(() -> {
        stats.loads.add(chunk.size());
        long startMillis = settings.clock().millis();
        long startNanos = System.nanoTime();
        return cache.<Map<K, V>>callLoader(() -> loader.load(view), () -> "keys " + view)
            .defaultIfEmpty(Map.of())
            .map(found -> new Loaded<>(found, startMillis, System.nanoTime() - startNanos))
            .onErrorResume(e -> Mono.just(new Loaded<>(e, startNanos)));
      }).flatMap(loaded -> {
        Throwable error = loaded.error();
        return error != null ? failed(chunk, error, loaded.nanos())
            : store(chunk, view, Objects.requireNonNull(loaded.found()), loaded.startMillis(),
                loaded.nanos());
      }).flux();
    }

    /** Stores a loaded chunk (one batched write), then answers its keys. */
    private Mono<List<Slot<K, V>>> store(List<Load<K, V>> chunk, Set<K> asked, Map<K, V> found,
        long startMillis, long loadNanos) {
      stats.totalLoadTimeNanos.add(loadNanos);
      warnIfUnasked(asked, found);
      List<LeasedEntry> leased = new ArrayList<>(chunk.size());
      List<StoreEntry> plain = new ArrayList<>();
      List<Mono<Void>> releases = new ArrayList<>();
      List<Slot<K, V>> slots = new ArrayList<>(chunk.size());
      for (Load<K, V> load : chunk) {
        Slot<K, V> slot = load.slot();
        slots.add(slot);
        V value = found.get(slot.key);
        answer(slot, Outcome.loaded(value));
        if (!load.cacheResult()) {
          continue;
        }
        Encoded encoded;
        try {
          encoded = cache.encode(slot.storeKey, value, startMillis);
        } catch (CodecException e) {
          fail(slot, e);
          encoded = null;
        }
        String token = load.token();
        if (encoded == null) {
          releases.add(cache.release(slot.storeKey, token));
        } else if (token != null) {
          leased.add(new LeasedEntry(slot.storeKey, token, encoded.bytes(), encoded.ttl()));
        } else {
          plain.add(new StoreEntry(slot.storeKey, encoded.bytes(), encoded.ttl()));
        }
      }
      return Mono.when(setAllIfLeased(leased), setAll(plain), Mono.when(releases))
          .thenReturn(slots);
    }

    /** A failed chunk: nothing is stored, leases are given back, stale values are served. */
    private Mono<List<Slot<K, V>>> failed(List<Load<K, V>> chunk, Throwable error,
        long loadNanos) {
      stats.totalLoadTimeNanos.add(loadNanos);
      stats.loadFailures.add(chunk.size());
      LOG.debug("cache '{}': bulk load of {} keys failed: {}", settings.name(), chunk.size(),
          error.toString());
      List<Mono<Void>> releases = new ArrayList<>();
      List<Slot<K, V>> slots = new ArrayList<>(chunk.size());
      for (Load<K, V> load : chunk) {
        Slot<K, V> slot = load.slot();
        slots.add(slot);
        if (load.token() != null) {
          releases.add(cache.release(slot.storeKey, load.token()));
        }
        Outcome<V> stale = slot.stale;
        if (stale != null) {
          answer(slot, stale);
        } else {
          fail(slot, error);
        }
      }
      return Mono.when(releases).thenReturn(slots);
    }

    /** Completes this window's flight of an answered key; joiners get the same answer. */
    private void finish(Slot<K, V> slot) {
      Sinks.One<Outcome<V>> sink = slot.sink;
      if (slot.finished || sink == null) {
        return;
      }
      slot.finished = true;
      // Out of the map before the answer travels on, as the single-key path does on terminate.
      inflight.remove(slot.storeKey, slot.flight);
      Throwable error = slot.error;
      if (error != null) {
        sink.tryEmitError(error);
      } else {
        sink.tryEmitValue(Objects.requireNonNull(slot.outcome));
      }
    }

    /** A safety net: no flight of this window outlives it unanswered. */
    private void abandon(List<Slot<K, V>> owned) {
      for (Slot<K, V> slot : owned) {
        if (!slot.finished) {
          if (slot.outcome == null && slot.error == null) {
            slot.error = new IllegalStateException("cache '" + settings.name()
                + "': bulk read ended without answering " + slot.storeKey);
          }
          finish(slot);
        }
      }
    }
  }

  /** A loader call's result: the map found, or its error. */
  private record Loaded<K, V>(@Nullable Map<K, V> found, @Nullable Throwable error,
      long startMillis, long nanos) {
    Loaded(Map<K, V> found, long startMillis, long nanos) {
      this(found, null, startMillis, nanos);
    }

    Loaded(Throwable error, long startNanos) {
      this(null, error, 0, System.nanoTime() - startNanos);
    }
  }

  private static void add(LongAdder counter, long n) {
    if (n > 0) {
      counter.add(n);
    }
  }

  private static <K, V> Flux<List<Slot<K, V>>> batch(List<Slot<K, V>> slots) {
    return slots.isEmpty() ? Flux.empty() : Flux.just(slots);
  }

  private static <K, V> Slot<K, V> answer(Slot<K, V> slot, Outcome<V> outcome) {
    slot.outcome = outcome;
    return slot;
  }

  private static <K, V> Slot<K, V> fail(Slot<K, V> slot, Throwable error) {
    slot.outcome = null;
    slot.error = error;
    return slot;
  }

  private Mono<Map<String, byte[]>> getAll(List<Slot<K, V>> slots) {
    List<String> keys = storeKeys(slots);
    return store.getAll(keys)
        .onErrorResume(e -> {
          cache.storeError("getAll", describe(keys), e);
          return Mono.empty();
        })
        .defaultIfEmpty(Map.of());
  }

  private Mono<Void> setAllIfLeased(List<LeasedEntry> entries) {
    if (entries.isEmpty()) {
      return Mono.empty();
    }
    return store.setAllIfLeased(entries).count()
        .doOnNext(stored -> {
          long lost = entries.size() - stored;
          if (lost > 0) {
            stats.leasesLost.add(lost);
          }
        })
        .onErrorResume(e -> {
          cache.storeError("setAllIfLeased", entries.size() + " keys", e);
          return Mono.empty();
        })
        .then();
  }

  private Mono<Void> setAll(List<StoreEntry> entries) {
    if (entries.isEmpty()) {
      return Mono.empty();
    }
    return store.setAll(entries).onErrorResume(e -> {
      cache.storeError("setAll", entries.size() + " keys", e);
      return Mono.empty();
    });
  }

  private Mono<Void> deleteCorrupt(List<String> storeKeys) {
    return storeKeys.isEmpty() ? Mono.empty() : cache.deleteCorrupt(storeKeys);
  }

  /**
   * Values for keys nobody asked for are ignored; say so, since it usually means the key
   * extractor returns another type than the requested keys (an Integer for a Long), which would
   * otherwise silently cache every key as "not found".
   */
  private void warnIfUnasked(Set<K> asked, Map<K, V> found) {
    if (found.size() <= asked.size() && asked.containsAll(found.keySet())) {
      return;
    }
    List<Object> unasked = new ArrayList<>();
    for (Object key : found.keySet()) {
      if (!asked.contains(key)) {
        unasked.add(key);
      }
    }
    Object example = unasked.get(0);
    LOG.warn("cache '{}': bulk loader returned {} values for keys it was not asked for, such as"
            + " {} ({}); they are ignored. Check the key type and the key extractor.",
        settings.name(), unasked.size(), example,
        example == null ? "null" : example.getClass().getName());
  }

  private static <K, V> List<String> storeKeys(List<Slot<K, V>> slots) {
    List<String> keys = new ArrayList<>(slots.size());
    slots.forEach(slot -> keys.add(slot.storeKey));
    return keys;
  }

  private static String describe(List<String> keys) {
    return keys.size() == 1 ? keys.get(0) : keys.size() + " keys";
  }

  private long now() {
    return settings.scheduler().now(TimeUnit.MILLISECONDS);
  }
}
