package dev.cacheaside.core;

import java.util.Iterator;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Mono;

/**
 * The reads in flight in this JVM, by store key: a caller of a key that is being read joins the
 * read instead of starting another, whichever path (single-key or bulk) started it.
 *
 * <p>A flight leaves the map before its outcome travels on ({@link Flight#leave}), so a read
 * started by a caller that already has the outcome never joins the finished flight and is
 * answered and counted twice. An invalidation {@linkplain #forget forgets} the key's flight before
 * it completes, so a read that starts after it never joins a read that began before.
 */
final class Flights<V> {
  private final ConcurrentHashMap<String, Flight<V>> inflight = new ConcurrentHashMap<>();
  /** Callers' own store reads ({@code shareReads(false)}) while they wait for the store. */
  private final Set<Object> ownReads = ConcurrentHashMap.newKeySet();
  private final StatsCounter stats;

  Flights(StatsCounter stats) {
    this.stats = stats;
  }

  /** A read in flight: its store key and its outcome. */
  static final class Flight<V> {
    final String storeKey;
    @SuppressWarnings("NotNullFieldNotInitialized")
    Mono<Outcome<V>> outcome;

    Flight(String storeKey) {
      this.storeKey = storeKey;
    }
  }

  /**
   * Joins the key's flight, or starts one with {@code start}, which is given the new flight (to
   * {@link #leave} the map when it ends) and returns its outcome. Joining counts as coalesced.
   */
  Mono<Outcome<V>> join(String storeKey, Function<Flight<V>, Mono<Outcome<V>>> start) {
    Flight<V> existing = inflight.get(storeKey);
    if (existing != null) {
      stats.coalesced.increment();
      return existing.outcome;
    }
    Flight<V> flight = new Flight<>(storeKey);
    flight.outcome = start.apply(flight);
    Mono<Outcome<V>> joined = claim(flight);
    return joined != null ? joined : flight.outcome;
  }

  /**
   * Registers {@code flight} (its outcome set) unless its key is in flight already.
   *
   * @return null when registered; else the outcome of the key's flight, to join (counted as
   *     coalesced)
   */
  @Nullable Mono<Outcome<V>> claim(Flight<V> flight) {
    Flight<V> existing = inflight.putIfAbsent(flight.storeKey, flight);
    if (existing == null) {
      return null;
    }
    stats.coalesced.increment();
    return existing.outcome;
  }

  /** Takes {@code flight} out of the map, if it is still there (not a newer one of its key). */
  void leave(Flight<V> flight) {
    inflight.remove(flight.storeKey, flight);
  }

  /** Forgets the key's flight: no later read joins it (it still ends, and leaves nothing). */
  void forget(String storeKey) {
    inflight.remove(storeKey);
  }

  /** A caller's own read was sent to the store; {@link #ownReadAnswered} when it is answered. */
  void ownReadSent(Object read) {
    ownReads.add(read);
  }

  /** A caller's own read was answered (or failed, or expired). */
  void ownReadAnswered(Object read) {
    ownReads.remove(read);
  }

  /**
   * What may be waiting for the store: the shared flights' outcomes and the callers' own reads,
   * for the store timeout's sweep ({@link StoreDeadline}).
   */
  Iterable<Object> waiting() {
    return () -> {
      Iterator<Flight<V>> shared = inflight.values().iterator();
      Iterator<Object> own = ownReads.iterator();
      return new Iterator<>() {
        @Override
        public boolean hasNext() {
          return shared.hasNext() || own.hasNext();
        }

        @Override
        public Object next() {
          return shared.hasNext() ? shared.next().outcome : own.next();
        }
      };
    };
  }

  /** Reads in flight (distinct keys). */
  int size() {
    return inflight.size();
  }
}
