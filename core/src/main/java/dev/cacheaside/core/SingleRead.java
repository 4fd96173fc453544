package dev.cacheaside.core;

import dev.cacheaside.core.Entries.Decoded;
import dev.cacheaside.core.spi.StoreLookup;
import java.util.List;
import java.util.Objects;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * The single-key read: a store read shared by concurrent callers ({@link ReadFlight}), and the
 * state machine behind anything but a fresh hit.
 *
 * <ol>
 *   <li>{@code GET}. A fresh entry answers (a negative entry answers "not found"). A stale entry
 *       (past logical expiry, within grace) is refreshed by whoever wins {@code tryLease}; the
 *       others are served the stale value. A corrupt entry is deleted and read again once.</li>
 *   <li>On a miss, {@code getOrLease}: it re-checks the value atomically (another instance may
 *       have stored it since the {@code GET}), or grants the lease, or reports a lease held
 *       elsewhere; then the holder loads and stores with {@code setIfLeased}, and the others wait
 *       ({@link LeaseWaiter}) until the value appears, the lease passes to them, or the wait
 *       budget is spent (then they load without storing).</li>
 * </ol>
 *
 * <h2>Why a flight begins with the store read</h2>
 * The in-flight map holds one shared read per key. Why the second cache check must be inside
 * the flight (as groupcache's singleflight notes): caller A misses on {@code GET}; meanwhile
 * caller B's flight loads, stores and leaves the map; if A now started a load straight away it
 * would load again. So a flight always begins with the store read, never with the load, and a
 * caller that misses outside a flight (its own read, with {@code shareReads(false)}) joins or
 * starts a flight that reads again. A flight does not cancel its read when a subscriber cancels,
 * so one caller's cancel never cancels the load others wait on.
 *
 * <h2>Early refresh</h2>
 * A fresh hit asks the {@link BackgroundRefresher} whether to refresh in the background; misses
 * and stale reads join a refresh in flight instead of loading.
 */
final class SingleRead<K, V> {
  private final Services<K, V> services;
  private final Entries<V> entries;
  private final StoreCalls calls;
  private final Loads<V> loads;
  private final BackgroundRefresher<K, V> refresher;
  private final boolean leases;
  private final boolean shareReads;
  private final ReadFlight.Env env;
  private final boolean cancelOnAbandon;
  private final Shared shared = new Shared();
  private final Own own = new Own();
  private final Waiting waiting = new Waiting();

  SingleRead(Services<K, V> services) {
    this.services = services;
    this.entries = services.entries();
    this.calls = services.calls();
    this.loads = services.loads();
    this.refresher = services.refresher();
    this.leases = services.settings().leases();
    this.shareReads = services.settings().shareReads();
    this.env = new ReadFlight.Env(calls.store(), services.settings().scheduler(),
        services.deadline(), services.flights(), services.settings().storeTimeout());
    this.cancelOnAbandon = loads.cancelOnAbandon();
  }

  /** Reads {@code key} (formatted as {@code entryKey}) under the current generation. */
  Mono<Outcome<V>> read(K key, String entryKey, Function<? super K, ? extends Mono<V>> loader) {
    Namespace<K> namespace = services.namespace();
    long generation = namespace.generationIfFresh();
    if (generation >= 0) {
      return read(new Read<>(key, namespace.storeKey(entryKey, generation), loader));
    }
    return namespace.generation().flatMap(g -> g == Namespace.UNKNOWN
        // The store cannot say which entries are current: answer from the loader, store nothing.
        ? loads.load(new Read<>(key, entryKey, loader), LoadPlan.uncached())
        : read(new Read<>(key, namespace.storeKey(entryKey, g), loader)));
  }

  /** Joins the key's read in flight or starts one; or, not sharing reads, the caller's own. */
  Mono<Outcome<V>> read(Read<K, V> read) {
    return shareReads ? joinFlight(read)
        : new ReadFlight<>(env, read, own, null, cancelOnAbandon ? () -> read(read) : null);
  }

  private Mono<Outcome<V>> joinFlight(Read<K, V> read) {
    Flights<V> flights = services.flights();
    return flights.join(read.storeKey(),
        flight -> new ReadFlight<>(env, read, shared, () -> flights.leave(flight),
            cancelOnAbandon ? () -> joinFlight(read) : null));
  }

  /** What a flight does with an answer other than a fresh hit: the state machine. */
  private class Shared implements ReadFlight.Path<K, V> {
    @Override
    public Decoded<V> decode(Read<K, V> read, byte[] bytes) {
      return entries.decode(read.storeKey(), bytes);
    }

    @Override
    public Outcome<V> fresh(Read<K, V> read, Decoded<V> decoded) {
      refresher.onHit(read, Objects.requireNonNull(decoded.envelope()));
      return decoded.outcome();
    }

    @Override
    public Mono<Outcome<V>> miss(Read<K, V> read, @Nullable Throwable storeError) {
      if (storeError != null) {
        calls.failed("get", read.storeKey(), storeError);
      }
      return onMiss(read, true);
    }

    @Override
    public Mono<Outcome<V>> notFresh(Read<K, V> read, Decoded<V> decoded) {
      return onDecoded(read, decoded, true);
    }
  }

  /** A caller's own read ({@code shareReads(false)}): anything but a fresh hit joins a flight. */
  private final class Own extends Shared {
    @Override
    public Mono<Outcome<V>> miss(Read<K, V> read, @Nullable Throwable storeError) {
      if (storeError != null) {
        calls.failed("get", read.storeKey(), storeError);
      }
      return joinFlight(read);
    }

    @Override
    public Mono<Outcome<V>> notFresh(Read<K, V> read, Decoded<V> decoded) {
      return joinFlight(read);
    }
  }

  /** A miss. A refresh of the key in flight is the load; else the lease, or a load. */
  private Mono<Outcome<V>> onMiss(Read<K, V> read, boolean mayRetry) {
    return refresher.joinOr(read.storeKey(), null, () -> leaseOrLoad(read, mayRetry));
  }

  /** Without leases, load and store; with them, ask for the lease. */
  private Mono<Outcome<V>> leaseOrLoad(Read<K, V> read, boolean mayRetry) {
    if (!leases) {
      return loads.load(read, LoadPlan.unleased());
    }
    return calls.getOrLease(read.storeKey())
        .flatMap(lookup -> lookup instanceof StoreLookup.Contended
            ? services.waiter().await(List.of(read), waiting).next()
            : onLookup(read, lookup, mayRetry))
        // The store failed: answer from the loader, and store nothing without a lease.
        .switchIfEmpty(Mono.defer(() -> loads.load(read, LoadPlan.uncached())));
  }

  /** Found: decode it; granted: load and store under the lease. Not for a contended lookup. */
  private Mono<Outcome<V>> onLookup(Read<K, V> read, StoreLookup lookup, boolean mayRetry) {
    if (lookup instanceof StoreLookup.Found found) {
      return onDecoded(read, entries.decode(read.storeKey(), found.value()), mayRetry);
    }
    return loads.load(read, LoadPlan.leased(((StoreLookup.Granted) lookup).token()));
  }

  /** Another caller holds the lease: look again, one key, as {@link LeaseWaiter} paces it. */
  private final class Waiting implements LeaseWaiter.Waiter<Read<K, V>, Outcome<V>> {
    @Override
    public String storeKey(Read<K, V> read) {
      return read.storeKey();
    }

    @Override
    public Flux<Outcome<V>> lookAgain(List<Read<K, V>> reads,
        LeaseWaiter.Next<Read<K, V>, Outcome<V>> next) {
      Read<K, V> read = reads.get(0);
      return calls.getOrLease(read.storeKey())
          .flatMapMany(lookup -> {
            if (lookup instanceof StoreLookup.Contended) {
              return next.waitOn(reads);
            }
            next.done();
            return onLookup(read, lookup, false);
          })
          .switchIfEmpty(Flux.defer(() -> {
            next.done();
            return loads.load(read, LoadPlan.uncached());
          }));
    }

    @Override
    public Flux<Outcome<V>> giveUp(List<Read<K, V>> reads) {
      return loads.load(reads.get(0), LoadPlan.<V>uncached()).flux();
    }
  }

  /**
   * A decoded entry: fresh answers; stale and expired are refreshed (an expired value is never
   * served); corrupt is deleted and read again; an alien value (another application's, another
   * version's) is left alone and the loader answers, storing nothing over it.
   */
  private Mono<Outcome<V>> onDecoded(Read<K, V> read, Decoded<V> decoded, boolean mayRetry) {
    return switch (decoded.state()) {
      case FRESH -> {
        refresher.onHit(read, Objects.requireNonNull(decoded.envelope()));
        yield Mono.just(decoded.outcome());
      }
      case STALE -> refresh(read, decoded.outcome());
      case EXPIRED -> refresh(read, null);
      case CORRUPT -> calls.deleteCorrupt(List.of(read.storeKey())).then(Mono.defer(() -> mayRetry
          ? onMiss(read, false)
          : loads.load(read, LoadPlan.uncached())));
      case ALIEN -> loads.load(read, LoadPlan.uncached());
    };
  }

  /**
   * A value past its logical expiry: one caller (the lease winner) loads; everyone else is served
   * the stale value meanwhile, when it is within grace, or loads without storing when it is not.
   * The winner is never served the stale value as fresh, only if its load fails (stale-if-error).
   */
  private Mono<Outcome<V>> refresh(Read<K, V> read, @Nullable Outcome<V> stale) {
    return refresher.joinOr(read.storeKey(), stale, () -> leaseOrLoadStale(read, stale));
  }

  /**
   * {@code tryLease}: a token means we refresh; taken means somebody else does (serve stale, or
   * load without storing when there is nothing to serve); a failing store means refresh without
   * storing.
   */
  private Mono<Outcome<V>> leaseOrLoadStale(Read<K, V> read, @Nullable Outcome<V> stale) {
    if (!leases) {
      return loads.load(read, LoadPlan.<V>unleased().orStale(stale));
    }
    return calls.tryLease(read.storeKey()).flatMap(lease -> {
      String token = lease.token();
      if (token == null && !lease.failed() && stale != null) {
        return Mono.just(stale);
      }
      return loads.load(read, LoadPlan.<V>of(true, token).orStale(stale));
    });
  }
}
