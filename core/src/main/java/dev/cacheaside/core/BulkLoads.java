package dev.cacheaside.core;

import dev.cacheaside.core.Entries.Encoded;
import dev.cacheaside.core.spi.CacheStore.LeasedEntry;
import dev.cacheaside.core.spi.CacheStore.StoreEntry;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * The loads of one {@code cacheAsideAll} call: a window's keys to load, cut into chunks of at most
 * {@code bulkMaxLoadChunk}, each loaded with one {@link BulkLoader} call (through the same
 * {@link Loads#call} and decorator as a single key) and stored in one batched write. A failed
 * chunk stores nothing, gives its leases back and fails only its own keys (or serves their stale
 * values).
 */
final class BulkLoads<K, V> {
  /** A key to load, and what becomes of its result. */
  record Load<K, V>(BulkSlot<K, V> slot, LoadPlan<V> plan) {}

  private final String cacheName;
  private final int maxChunk;
  private final StoreClock clock;
  private final Entries<V> entries;
  private final StoreCalls calls;
  private final Loads<V> loads;
  private final StatsCounter stats;
  private final BulkLoader<K, V> loader;

  BulkLoads(Services<K, V> services, BulkLoader<K, V> loader) {
    this.cacheName = services.settings().name();
    this.maxChunk = services.settings().bulk().maxLoadChunk();
    this.clock = services.clock();
    this.entries = services.entries();
    this.calls = services.calls();
    this.loads = services.loads();
    this.stats = services.stats();
    this.loader = loader;
  }

  /** Loads {@code keys}, chunks concurrently; emits each chunk's slots, answered, once stored. */
  Flux<List<BulkSlot<K, V>>> load(List<Load<K, V>> keys) {
    if (keys.isEmpty()) {
      return Flux.empty();
    }
    if (keys.size() <= maxChunk) {
      return loadChunk(keys);
    }
    List<List<Load<K, V>>> chunks = new ArrayList<>();
    for (int from = 0; from < keys.size(); from += maxChunk) {
      chunks.add(keys.subList(from, Math.min(keys.size(), from + maxChunk)));
    }
    return Flux.fromIterable(chunks).flatMap(this::loadChunk, chunks.size());
  }

  private Flux<List<BulkSlot<K, V>>> loadChunk(List<Load<K, V>> chunk) {
    Set<K> keys = new LinkedHashSet<>(chunk.size() * 2);
    chunk.forEach(load -> keys.add(load.slot().key));
    Set<K> view = Collections.unmodifiableSet(keys);
    return Mono.defer(() -> {
      long startMillis = clock.millis();
      Loads.Start start = new Loads.Start(chunk.size());
      return loads.<Map<K, V>>call(() -> loader.load(view), () -> "keys " + view, start)
          .defaultIfEmpty(Map.of())
          .map(found -> new Loaded<>(found, null, startMillis, Loads.elapsed(start)))
          .onErrorResume(e -> Mono.just(
              new Loaded<>(null, e, startMillis, Loads.elapsed(start))));
    }).flatMap(loaded -> {
      stats.totalLoadTimeNanos.add(loaded.nanos());
      Throwable error = loaded.error();
      return error != null ? failed(chunk, error)
          : store(chunk, view, Objects.requireNonNull(loaded.found()), loaded.startMillis());
    }).flux();
  }

  /** A loader call's result: the map found, or its error. */
  private record Loaded<K, V>(@Nullable Map<K, V> found, @Nullable Throwable error,
      long startMillis, long nanos) {}

  /** Stores a loaded chunk (one batched write), then answers its keys. */
  private Mono<List<BulkSlot<K, V>>> store(List<Load<K, V>> chunk, Set<K> asked,
      Map<K, V> found, long startMillis) {
    warnIfUnasked(asked, found);
    List<LeasedEntry> leased = new ArrayList<>(chunk.size());
    List<StoreEntry> plain = new ArrayList<>();
    List<Mono<Void>> releases = new ArrayList<>();
    List<BulkSlot<K, V>> slots = new ArrayList<>(chunk.size());
    for (Load<K, V> load : chunk) {
      BulkSlot<K, V> slot = load.slot();
      slots.add(slot);
      V value = found.get(slot.key);
      slot.answer(Outcome.loaded(value));
      if (!load.plan().stores()) {
        continue;
      }
      Encoded encoded;
      try {
        encoded = entries.encode(slot.storeKey, value, startMillis);
      } catch (CodecException e) {
        slot.fail(e);
        encoded = null;
      }
      String token = load.plan().token();
      if (encoded == null) {
        releases.add(calls.release(slot.storeKey, token));
      } else if (token != null) {
        leased.add(new LeasedEntry(slot.storeKey, token, encoded.bytes(), encoded.ttl()));
      } else {
        plain.add(new StoreEntry(slot.storeKey, encoded.bytes(), encoded.ttl()));
      }
    }
    Mono<Void> stored = calls.storeAll(leased, plain);
    return (releases.isEmpty() ? stored : Mono.when(stored, Mono.when(releases)))
        .thenReturn(slots);
  }

  /** A failed chunk: nothing is stored, leases are given back, stale values are served. */
  private Mono<List<BulkSlot<K, V>>> failed(List<Load<K, V>> chunk, Throwable error) {
    stats.loadFailures.add(chunk.size());
    Log.CACHE.debug("cache '{}': bulk load of {} keys failed: {}", cacheName, chunk.size(),
        error.toString());
    List<Mono<Void>> releases = new ArrayList<>();
    List<BulkSlot<K, V>> slots = new ArrayList<>(chunk.size());
    for (Load<K, V> load : chunk) {
      BulkSlot<K, V> slot = load.slot();
      slots.add(slot);
      String token = load.plan().token();
      if (token != null) {
        releases.add(calls.release(slot.storeKey, token));
      }
      Outcome<V> stale = slot.stale;
      if (stale != null) {
        slot.answer(stale);
      } else {
        slot.fail(error);
      }
    }
    return Mono.when(releases).thenReturn(slots);
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
    Log.CACHE.warn("cache '{}': bulk loader returned {} values for keys it was not asked for,"
            + " such as {} ({}); they are ignored. Check the key type and the key extractor.",
        cacheName, unasked.size(), example,
        example == null ? "null" : example.getClass().getName());
  }
}
