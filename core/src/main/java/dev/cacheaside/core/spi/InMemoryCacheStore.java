package dev.cacheaside.core.spi;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.jspecify.annotations.Nullable;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * A {@link CacheStore} in this JVM's memory, on Caffeine (an optional dependency of this module:
 * add {@code com.github.ben-manes.caffeine:caffeine} to use it). It has the same lease semantics as
 * the Redis store, so the core runs one code path whatever the store, and it is what unit tests
 * and single-instance local use want. Values and leases expire by the injected {@link Clock}, so
 * a test can move time instead of sleeping.
 *
 * <pre>{@code
 * CacheStore store = InMemoryCacheStore.builder().maximumSize(50_000).build();
 * }</pre>
 *
 * @since 0.1
 */
public final class InMemoryCacheStore implements CacheStore {
  /** The default bound on the number of entries. */
  public static final long DEFAULT_MAXIMUM_SIZE = 100_000;

  private final Clock clock;
  private final ConcurrentMap<String, Slot> map;
  private final ConcurrentHashMap<String, AtomicLong> generations = new ConcurrentHashMap<>();
  private final List<InvalidationListener> listeners = new CopyOnWriteArrayList<>();

  private InMemoryCacheStore(Clock clock, long maximumSize) {
    this.clock = clock;
    Cache<String, Slot> cache = Caffeine.newBuilder()
        .maximumSize(maximumSize)
        .ticker(() -> TimeUnit.MILLISECONDS.toNanos(clock.millis()))
        // Maintenance runs on the calling thread: no hidden pool, deterministic in tests.
        .executor(Runnable::run)
        .expireAfter(new SlotExpiry())
        .build();
    this.map = cache.asMap();
  }

  /** A store with the system clock and {@link #DEFAULT_MAXIMUM_SIZE}. */
  public static InMemoryCacheStore create() {
    return builder().build();
  }

  /** A builder for a store with a custom clock or size. */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * Options of an {@link InMemoryCacheStore}.
   *
   * @since 0.1
   */
  public static final class Builder {
    private Clock clock = Clock.systemUTC();
    private long maximumSize = DEFAULT_MAXIMUM_SIZE;

    private Builder() {}

    /** The clock that expires values and leases (a fake one in tests). */
    public Builder clock(Clock clock) {
      this.clock = Objects.requireNonNull(clock, "clock must not be null");
      return this;
    }

    /** The most entries kept; the least valuable are evicted beyond it. */
    public Builder maximumSize(long maximumSize) {
      if (maximumSize <= 0) {
        throw new IllegalArgumentException("maximumSize must be positive but was " + maximumSize);
      }
      this.maximumSize = maximumSize;
      return this;
    }

    /** Builds the store. */
    public InMemoryCacheStore build() {
      return new InMemoryCacheStore(clock, maximumSize);
    }
  }

  /**
   * A key's state: a value (or none) and a lease (or none), each with its own deadline. Holding
   * both in one map entry makes every lease operation one atomic {@code compute}.
   */
  private record Slot(byte @Nullable [] value, long valueDeadline, @Nullable String lease,
      long leaseDeadline) {

    byte @Nullable [] liveValue(long now) {
      return value != null && now < valueDeadline ? value : null;
    }

    @Nullable String liveLease(long now) {
      return lease != null && now < leaseDeadline ? lease : null;
    }

    @Nullable Slot normalize(long now) {
      byte[] v = liveValue(now);
      String l = liveLease(now);
      if (v == null && l == null) {
        return null;
      }
      return new Slot(v, v == null ? 0 : valueDeadline, l, l == null ? 0 : leaseDeadline);
    }

    long deadline() {
      return Math.max(value == null ? 0 : valueDeadline, lease == null ? 0 : leaseDeadline);
    }
  }

  private static final class SlotExpiry implements Expiry<String, Slot> {
    @Override
    public long expireAfterCreate(String key, Slot slot, long currentTime) {
      long nowMillis = TimeUnit.NANOSECONDS.toMillis(currentTime);
      long remaining = slot.deadline() - nowMillis;
      return remaining <= 0 ? 0 : TimeUnit.MILLISECONDS.toNanos(Math.min(remaining,
          TimeUnit.NANOSECONDS.toMillis(Long.MAX_VALUE / 2)));
    }

    @Override
    public long expireAfterUpdate(String key, Slot slot, long currentTime, long currentDuration) {
      return expireAfterCreate(key, slot, currentTime);
    }

    @Override
    public long expireAfterRead(String key, Slot slot, long currentTime, long currentDuration) {
      return currentDuration;
    }
  }

  private long now() {
    return clock.millis();
  }

  private static long deadline(long now, Duration ttl) {
    long millis = ttl.toMillis();
    return millis >= Long.MAX_VALUE - now ? Long.MAX_VALUE : now + millis;
  }

  private byte @Nullable [] read(String key) {
    Slot slot = map.get(key);
    return slot == null ? null : slot.liveValue(now());
  }

  @Override
  public Mono<byte[]> get(String key) {
    StoreChecks.checkKey(key);
    return Mono.fromSupplier(() -> read(key));
  }

  @Override
  public Mono<Map<String, byte[]>> getAll(Collection<String> keys) {
    List<String> copy = List.copyOf(keys);
    copy.forEach(StoreChecks::checkKey);
    return Mono.fromSupplier(() -> {
      Map<String, byte[]> found = new HashMap<>();
      for (String key : copy) {
        byte[] value = read(key);
        if (value != null) {
          found.put(key, value);
        }
      }
      return found;
    });
  }

  private void write(String key, byte[] value, Duration ttl) {
    long now = now();
    map.compute(key, (k, old) -> {
      Slot live = old == null ? null : old.normalize(now);
      return new Slot(value, deadline(now, ttl), live == null ? null : live.lease(),
          live == null ? 0 : live.leaseDeadline());
    });
    announce(key);
  }

  /** Tells the listeners, after the change, that {@code key} changed. */
  private void announce(String key) {
    for (InvalidationListener listener : listeners) {
      listener.invalidated(key);
    }
  }

  /**
   * Every write, delete and generation bump is announced to the listeners on the writing thread,
   * after it took effect: the stream of one JVM never breaks, so {@code restored} comes at once.
   */
  @Override
  public Disposable invalidations(InvalidationListener listener) {
    Objects.requireNonNull(listener, "listener must not be null");
    listeners.add(listener);
    listener.restored();
    return () -> listeners.remove(listener);
  }

  @Override
  public Mono<Void> set(String key, byte[] value, Duration ttl) {
    StoreChecks.checkEntry(key, value, ttl);
    return Mono.fromRunnable(() -> write(key, value, ttl));
  }

  @Override
  public Mono<Void> setAll(Collection<StoreEntry> entries) {
    List<StoreEntry> copy = List.copyOf(entries);
    return Mono.fromRunnable(() -> copy.forEach(e -> write(e.key(), e.value(), e.ttl())));
  }

  @Override
  public Mono<Void> delete(Collection<String> keys) {
    List<String> copy = List.copyOf(keys);
    copy.forEach(StoreChecks::checkKey);
    return Mono.fromRunnable(() -> copy.forEach(key -> {
      map.remove(key);
      announce(key);
    }));
  }

  private StoreLookup lookupOrLease(String key, Duration leaseTtl) {
    long now = now();
    StoreLookup[] result = new StoreLookup[1];
    map.compute(key, (k, old) -> {
      Slot live = old == null ? null : old.normalize(now);
      if (live != null && live.value() != null) {
        result[0] = new StoreLookup.Found(live.value());
        return live;
      }
      if (live != null && live.lease() != null) {
        result[0] = StoreLookup.contended();
        return live;
      }
      String token = CacheStore.newLeaseToken();
      result[0] = new StoreLookup.Granted(token);
      return new Slot(null, 0, token, deadline(now, leaseTtl));
    });
    return result[0];
  }

  @Override
  public Mono<StoreLookup> getOrLease(String key, Duration leaseTtl) {
    StoreChecks.checkKey(key);
    StoreChecks.checkTtl(leaseTtl, "leaseTtl");
    return Mono.fromSupplier(() -> lookupOrLease(key, leaseTtl));
  }

  @Override
  public Flux<KeyedLookup> getOrLeaseAll(Collection<String> keys, Duration leaseTtl) {
    List<String> copy = List.copyOf(new LinkedHashSet<>(keys));
    copy.forEach(StoreChecks::checkKey);
    StoreChecks.checkTtl(leaseTtl, "leaseTtl");
    return Flux.defer(() -> {
      List<KeyedLookup> lookups = new ArrayList<>(copy.size());
      for (String key : copy) {
        lookups.add(new KeyedLookup(key, lookupOrLease(key, leaseTtl)));
      }
      return Flux.fromIterable(lookups);
    });
  }

  @Override
  public Mono<String> tryLease(String key, Duration leaseTtl) {
    StoreChecks.checkKey(key);
    StoreChecks.checkTtl(leaseTtl, "leaseTtl");
    return Mono.fromSupplier(() -> {
      long now = now();
      String[] granted = new String[1];
      map.compute(key, (k, old) -> {
        Slot live = old == null ? null : old.normalize(now);
        if (live != null && live.lease() != null) {
          return live;
        }
        granted[0] = CacheStore.newLeaseToken();
        return new Slot(live == null ? null : live.value(), live == null ? 0 : live.valueDeadline(),
            granted[0], deadline(now, leaseTtl));
      });
      return granted[0];
    });
  }

  private boolean writeIfLeased(String key, String token, byte[] value, Duration ttl) {
    long now = now();
    boolean[] stored = new boolean[1];
    map.computeIfPresent(key, (k, old) -> {
      Slot live = old.normalize(now);
      if (live == null || !token.equals(live.lease())) {
        return live;
      }
      byte[] present = live.value();
      if (present != null && !CacheStore.isEntry(present)) {
        // Another application's value, written while the lease was held: left as it is.
        return new Slot(present, live.valueDeadline(), null, 0);
      }
      stored[0] = true;
      return new Slot(value, deadline(now, ttl), null, 0);
    });
    if (stored[0]) {
      announce(key);
    }
    return stored[0];
  }

  @Override
  public Mono<Boolean> setIfLeased(String key, String token, byte[] value, Duration ttl) {
    StoreChecks.checkEntry(key, value, ttl);
    StoreChecks.checkToken(token);
    return Mono.fromSupplier(() -> writeIfLeased(key, token, value, ttl));
  }

  @Override
  public Flux<String> setAllIfLeased(Collection<LeasedEntry> entries) {
    List<LeasedEntry> copy = List.copyOf(entries);
    return Flux.defer(() -> {
      List<String> stored = new ArrayList<>();
      for (LeasedEntry e : copy) {
        if (writeIfLeased(e.key(), e.token(), e.value(), e.ttl())) {
          stored.add(e.key());
        }
      }
      return Flux.fromIterable(stored);
    });
  }

  @Override
  public Mono<Void> releaseLease(String key, String token) {
    StoreChecks.checkKey(key);
    StoreChecks.checkToken(token);
    return Mono.fromRunnable(() -> {
      long now = now();
      map.computeIfPresent(key, (k, old) -> {
        Slot live = old.normalize(now);
        if (live == null || !token.equals(live.lease())) {
          return live;
        }
        return live.value() == null ? null : new Slot(live.value(), live.valueDeadline(), null, 0);
      });
    });
  }

  /**
   * The generations live in a map of their own: never evicted with the entries (an evicted one
   * would make old entries reachable again), and out of reach of every store key. A namespace's
   * first generation, and a bump's lower bound, come from this store's clock, in microseconds.
   */
  @Override
  public Mono<Long> generation(String namespace) {
    StoreChecks.checkNamespace(namespace);
    return Mono.fromSupplier(() -> generations.computeIfAbsent(namespace,
        n -> new AtomicLong(nowMicros())).get());
  }

  @Override
  public Mono<Long> bumpGeneration(String namespace) {
    StoreChecks.checkNamespace(namespace);
    return Mono.fromSupplier(() -> {
      long now = nowMicros();
      long bumped = generations.computeIfAbsent(namespace, n -> new AtomicLong())
          .accumulateAndGet(now, (current, clockNow) -> Math.max(current + 1, clockNow));
      listeners.forEach(listener -> listener.namespaceInvalidated(namespace));
      return bumped;
    });
  }

  /** This store's clock: it is the one that expires its entries. */
  @Override
  public Mono<Long> time(String namespace) {
    StoreChecks.checkNamespace(namespace);
    return Mono.fromSupplier(clock::millis);
  }

  private long nowMicros() {
    return Math.multiplyExact(clock.millis(), 1000L);
  }

  /** The number of keys held, expired ones possibly included until cleaned up. */
  public long size() {
    return map.size();
  }

  @Override
  public String toString() {
    return "InMemoryCacheStore[size=" + map.size() + "]";
  }
}
