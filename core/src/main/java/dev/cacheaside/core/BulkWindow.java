package dev.cacheaside.core;

import dev.cacheaside.core.BulkLoads.Load;
import dev.cacheaside.core.Entries.Decoded;
import dev.cacheaside.core.spi.StoreLookup;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;

/**
 * One window of a bulk read: its distinct keys, each a {@link BulkSlot}, answered in batches.
 *
 * <ol>
 *   <li>Keys are de-duplicated by store key; one {@code getAll} answers the fresh hits, which
 *       are emitted at once. Hits cost this one round trip and nothing else.</li>
 *   <li>Every other key (absent, stale, corrupt) is registered in the in-flight map, the same map
 *       the single-key path uses: a key already there (a single-key read or another window) is
 *       joined; the rest become this window's flights, so a concurrent {@code cacheAside(k)}
 *       joins this load. As in the single-key path, the registered flight reads the store again
 *       before loading ({@code getOrLeaseAll} with leases, a second {@code getAll} without): a key
 *       another flight stored and left the map with between our {@code getAll} and our
 *       registration is then a hit, not a second load.</li>
 *   <li>Keys leased to this window are loaded in chunks ({@link BulkLoads}); keys leased
 *       elsewhere wait ({@link LeaseWaiter}), in batches; stale keys are refreshed by whoever
 *       wins {@code tryLease} and served stale to the others.</li>
 * </ol>
 *
 * <h2>Cancellation</h2>
 * Once a window has registered flights, other callers may be waiting on them, and it may hold
 * leases. Its work is therefore {@code cache()}d, which does not cancel its source when the
 * subscriber cancels (the single-key flights rely on the same property): cancelling the stream
 * stops new windows, while started windows load, store, complete their flights and leave the
 * map. A flight that its window somehow failed to answer is completed with an error when the
 * window ends, never left hanging.
 */
final class BulkWindow<K, V> {
  /** One requested key and its entry key. */
  record Request<K>(K key, String entryKey) {}

  private final Services<K, V> services;
  private final BulkLoads<K, V> loads;
  private final List<Request<K>> requests;
  /** The slot of each request, in request order; only kept for {@link BulkOrder#REQUEST}. */
  private final @Nullable List<BulkSlot<K, V>> slotOfRequest;
  private final Waiting waiting = new Waiting();

  BulkWindow(Services<K, V> services, BulkLoads<K, V> loads, List<Request<K>> requests,
      BulkOrder order) {
    this.services = services;
    this.loads = loads;
    this.requests = requests;
    this.slotOfRequest = order == BulkOrder.REQUEST ? new ArrayList<>(requests.size()) : null;
  }

  /** The results as their batches complete, each request once. */
  Flux<BulkResult<K, V>> completionOrder() {
    return answers().flatMapIterable(batch -> {
      count(batch);
      int requested = 0;
      for (BulkSlot<K, V> slot : batch) {
        requested += slot.requests();
      }
      List<BulkResult<K, V>> results = new ArrayList<>(requested);
      for (BulkSlot<K, V> slot : batch) {
        results.add(slot.result(slot.key));
        List<K> more = slot.more;
        if (more != null) {
          more.forEach(key -> results.add(slot.result(key)));
        }
      }
      return results;
    });
  }

  /** The results in the order of the requests, once the whole window is answered. */
  Flux<BulkResult<K, V>> requestOrder() {
    List<BulkSlot<K, V>> slots = Objects.requireNonNull(slotOfRequest);
    return answers().doOnNext(this::count).thenMany(Flux.range(0, requests.size())
        .map(i -> slots.get(i).result(requests.get(i).key())));
  }

  /**
   * Every distinct key of the window, answered, in batches, not counted as reads: a warm reports
   * its own counts, and its look-ups are not the traffic's hits and misses.
   */
  Flux<List<BulkSlot<K, V>>> uncountedAnswers() {
    return answers();
  }

  private void count(List<BulkSlot<K, V>> batch) {
    BulkSlot.count(batch, services.stats());
  }

  /**
   * Every distinct key of the window, answered, in batches as they complete (the hits, then
   * each chunk): one signal per batch, not per key, keeps the operators' cost per window.
   */
  private Flux<List<BulkSlot<K, V>>> answers() {
    return services.namespace().generation().flatMapMany(generation -> {
      Map<String, BulkSlot<K, V>> byStoreKey = new HashMap<>(requests.size() * 2);
      List<BulkSlot<K, V>> slots = new ArrayList<>(requests.size());
      for (Request<K> request : requests) {
        String storeKey = services.namespace().storeKey(request.entryKey(), generation);
        BulkSlot<K, V> slot = new BulkSlot<>(request.key(), storeKey);
        BulkSlot<K, V> first = byStoreKey.putIfAbsent(storeKey, slot);
        if (first == null) {
          slots.add(slot);
        } else {
          first.alsoFor(request.key());
          services.stats().coalesced.increment();
          slot = first;
        }
        if (slotOfRequest != null) {
          slotOfRequest.add(slot);
        }
      }
      if (generation == Namespace.UNKNOWN) {
        // The store cannot say which entries are current: answer from the loader, store nothing.
        List<Load<K, V>> uncached = new ArrayList<>(slots.size());
        slots.forEach(slot -> uncached.add(new Load<>(slot, LoadPlan.uncached())));
        return loads.load(uncached);
      }
      return read(slots);
    });
  }

  /** Step 1: one multi-get; fresh hits are answered, the rest go on to their flights. */
  private Flux<List<BulkSlot<K, V>>> read(List<BulkSlot<K, V>> slots) {
    boolean refreshes = !services.settings().refresh().policy().isNone();
    return services.calls().getAll(BulkSlot.storeKeys(slots)).flatMapMany(found -> {
      List<BulkSlot<K, V>> hits = new ArrayList<>(slots.size());
      List<BackgroundRefresher.Hit> fresh = refreshes ? new ArrayList<>(slots.size()) : List.of();
      List<BulkSlot<K, V>> pending = new ArrayList<>();
      List<String> corrupt = new ArrayList<>();
      for (BulkSlot<K, V> slot : slots) {
        byte[] bytes = found.get(slot.storeKey);
        if (bytes == null) {
          pending.add(slot);
          continue;
        }
        Decoded<V> decoded = services.entries().decode(slot.storeKey, bytes);
        switch (decoded.state()) {
          case FRESH -> {
            hits.add(slot.answer(decoded.outcome()));
            if (refreshes) {
              fresh.add(new BackgroundRefresher.Hit(slot.storeKey,
                  Objects.requireNonNull(decoded.envelope())));
            }
          }
          case STALE -> {
            slot.stale = decoded.outcome();
            pending.add(slot);
          }
          case EXPIRED -> {
            slot.expired = true;
            pending.add(slot);
          }
          case CORRUPT -> {
            corrupt.add(slot.storeKey);
            pending.add(slot);
          }
          case ALIEN -> pending.add(slot);
        }
      }
      if (refreshes) {
        services.refresher().onHits(fresh, storeKeys -> BulkRefresh.refreshDue(services, loads,
            storeKeys, hits));
      }
      if (pending.isEmpty()) {
        return batch(hits);
      }
      // Detached from the subscriber once flights exist: see the class comment.
      Flux<List<BulkSlot<K, V>>> rest = Flux.defer(() -> fly(pending, corrupt)).cache();
      return hits.isEmpty() ? rest : Flux.merge(batch(hits), rest);
    });
  }

  /** Step 2: register the window's flights (or join others'), and answer them. */
  private Flux<List<BulkSlot<K, V>>> fly(List<BulkSlot<K, V>> pending, List<String> corrupt) {
    List<BulkSlot<K, V>> owned = new ArrayList<>(pending.size());
    List<BulkSlot<K, V>> joined = new ArrayList<>();
    for (BulkSlot<K, V> slot : pending) {
      Sinks.One<Outcome<V>> sink = Sinks.one();
      Flights.Flight<V> flight = new Flights.Flight<>(slot.storeKey);
      flight.outcome = sink.asMono();
      Mono<Outcome<V>> theirs = services.flights().claim(flight);
      if (theirs == null) {
        slot.flight = flight;
        slot.sink = sink;
        owned.add(slot);
      } else {
        slot.joined = theirs;
        joined.add(slot);
      }
    }
    Flux<List<BulkSlot<K, V>>> mine = owned.isEmpty() ? Flux.empty()
        : services.calls().deleteCorrupt(corrupt)
            .thenMany(Flux.defer(() -> resolve(owned)))
            .doOnNext(batch -> batch.forEach(this::finish))
            .doFinally(signal -> abandon(owned));
    Flux<List<BulkSlot<K, V>>> theirs = joined.isEmpty() ? Flux.empty()
        : Flux.fromIterable(joined).flatMap(slot -> Objects.requireNonNull(slot.joined)
            .map(slot::answer)
            .onErrorResume(e -> Mono.just(slot.fail(e)))
            // an empty flight never happens (outcomes carry "not found"); guard anyway
            .switchIfEmpty(Mono.fromSupplier(() -> slot.fail(
                new IllegalStateException("joined read of " + slot.storeKey + " ended empty"))))
            .map(List::of), joined.size());
    return Flux.merge(mine, theirs);
  }

  private Flux<List<BulkSlot<K, V>>> resolve(List<BulkSlot<K, V>> owned) {
    List<BulkSlot<K, V>> misses = new ArrayList<>(owned.size());
    List<BulkSlot<K, V>> stale = new ArrayList<>();
    for (BulkSlot<K, V> slot : owned) {
      (slot.stale != null || slot.expired ? stale : misses).add(slot);
    }
    Flux<List<BulkSlot<K, V>>> missed = misses.isEmpty() ? Flux.empty()
        : services.settings().leases() ? look(misses, null) : recheck(misses);
    return Flux.merge(missed, refresh(stale));
  }

  /** Leases off: read the missed keys again inside their flights, then load what is missing. */
  private Flux<List<BulkSlot<K, V>>> recheck(List<BulkSlot<K, V>> slots) {
    return services.calls().getAll(BulkSlot.storeKeys(slots)).flatMapMany(found -> {
      Sorted sorted = new Sorted(slots.size());
      for (BulkSlot<K, V> slot : slots) {
        byte[] bytes = found.get(slot.storeKey);
        if (bytes == null) {
          sorted.loads.add(new Load<>(slot, LoadPlan.unleased()));
        } else {
          sorted.add(slot, services.entries().decode(slot.storeKey, bytes));
        }
      }
      return sorted.answer(Flux.empty());
    });
  }

  /**
   * Leases on: one {@code getOrLeaseAll} for the keys; granted keys are loaded, keys found
   * corrupt are deleted and loaded without storing, keys leased elsewhere wait: on the first look
   * ({@code next} null) they start a wait, on a look again they go on with it.
   */
  private Flux<List<BulkSlot<K, V>>> look(List<BulkSlot<K, V>> slots,
      LeaseWaiter.@Nullable Next<BulkSlot<K, V>, List<BulkSlot<K, V>>> next) {
    return services.calls().getOrLeaseAll(BulkSlot.storeKeys(slots)).flatMapMany(lookups -> {
      Sorted sorted = new Sorted(slots.size());
      List<BulkSlot<K, V>> contended = new ArrayList<>();
      for (BulkSlot<K, V> slot : slots) {
        StoreLookup lookup = lookups.get(slot.storeKey);
        if (lookup instanceof StoreLookup.Granted granted) {
          sorted.loads.add(new Load<>(slot, LoadPlan.leased(granted.token())));
        } else if (lookup instanceof StoreLookup.Contended) {
          contended.add(slot);
        } else if (lookup instanceof StoreLookup.Found found) {
          sorted.add(slot, services.entries().decode(slot.storeKey, found.value()));
        } else {
          // The store failed (or answered nothing for the key): load, store nothing.
          sorted.loads.add(new Load<>(slot, LoadPlan.uncached()));
        }
      }
      Flux<List<BulkSlot<K, V>>> waits;
      if (contended.isEmpty()) {
        if (next != null) {
          next.done();
        }
        waits = Flux.empty();
      } else {
        waits = next != null ? next.waitOn(contended)
            : services.waiter().await(contended, waiting);
      }
      return sorted.answer(waits);
    });
  }

  /** Keys leased elsewhere, in batches: a bulk waiter looks again when all their leases end. */
  private final class Waiting
      implements LeaseWaiter.Waiter<BulkSlot<K, V>, List<BulkSlot<K, V>>> {
    @Override
    public String storeKey(BulkSlot<K, V> slot) {
      return slot.storeKey;
    }

    @Override
    public Flux<List<BulkSlot<K, V>>> lookAgain(List<BulkSlot<K, V>> slots,
        LeaseWaiter.Next<BulkSlot<K, V>, List<BulkSlot<K, V>>> next) {
      return look(slots, next);
    }

    @Override
    public Flux<List<BulkSlot<K, V>>> giveUp(List<BulkSlot<K, V>> slots) {
      List<Load<K, V>> uncached = new ArrayList<>(slots.size());
      slots.forEach(slot -> uncached.add(new Load<>(slot, LoadPlan.uncached())));
      return loads.load(uncached);
    }
  }

  /**
   * What a look inside a flight found, sorted: fresh answers, stale keys to refresh, corrupt keys
   * to delete, keys to load.
   */
  private final class Sorted {
    final List<BulkSlot<K, V>> answered = new ArrayList<>();
    final List<BulkSlot<K, V>> stale = new ArrayList<>();
    final List<String> corrupt = new ArrayList<>();
    final List<Load<K, V>> loads;

    Sorted(int size) {
      loads = new ArrayList<>(size);
    }

    /**
     * A value found: fresh is an answer, stale and expired are refreshed, corrupt is loaded
     * without storing (it was deleted once already, as the single-key path's retry does), alien is
     * loaded without storing and left alone.
     */
    void add(BulkSlot<K, V> slot, Decoded<V> decoded) {
      switch (decoded.state()) {
        case FRESH -> answered.add(slot.answer(decoded.outcome()));
        case STALE, EXPIRED -> {
          slot.stale = decoded.state() == Decoded.State.STALE ? decoded.outcome() : null;
          slot.expired = decoded.state() == Decoded.State.EXPIRED;
          stale.add(slot);
        }
        case CORRUPT -> {
          corrupt.add(slot.storeKey);
          loads.add(new Load<>(slot, LoadPlan.uncached()));
        }
        case ALIEN -> loads.add(new Load<>(slot, LoadPlan.uncached()));
      }
    }

    Flux<List<BulkSlot<K, V>>> answer(Flux<List<BulkSlot<K, V>>> waits) {
      return Flux.merge(batch(answered), BulkWindow.this.loads.load(loads), refresh(stale),
          services.calls().deleteCorrupt(corrupt).thenMany(Flux.empty()), waits);
    }
  }

  private Flux<List<BulkSlot<K, V>>> refresh(List<BulkSlot<K, V>> stale) {
    return BulkRefresh.refreshStale(services, loads, stale);
  }

  /** Completes this window's flight of an answered key; joiners get the same answer. */
  private void finish(BulkSlot<K, V> slot) {
    Sinks.One<Outcome<V>> sink = slot.sink;
    Flights.Flight<V> flight = slot.flight;
    if (slot.finished || sink == null || flight == null) {
      return;
    }
    slot.finished = true;
    // Out of the map before the answer travels on, as the single-key path does on terminate.
    services.flights().leave(flight);
    Throwable error = slot.error;
    if (error != null) {
      sink.tryEmitError(error);
    } else {
      sink.tryEmitValue(Objects.requireNonNull(slot.outcome));
    }
  }

  /** A safety net: no flight of this window outlives it unanswered. */
  private void abandon(List<BulkSlot<K, V>> owned) {
    for (BulkSlot<K, V> slot : owned) {
      if (!slot.finished) {
        if (slot.outcome == null && slot.error == null) {
          slot.error = new IllegalStateException("cache '" + services.settings().name()
              + "': bulk read ended without answering " + slot.storeKey);
        }
        finish(slot);
      }
    }
  }

  private static <K, V> Flux<List<BulkSlot<K, V>>> batch(List<BulkSlot<K, V>> slots) {
    return slots.isEmpty() ? Flux.empty() : Flux.just(slots);
  }
}
