package dev.cacheaside.core.spi;

import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import org.jspecify.annotations.Nullable;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * The storage SPI: a remote or local key-value store of byte arrays with per-entry TTLs and
 * leases. {@code RedisCacheStore} (module {@code cache-aside-redis}) and
 * {@link InMemoryCacheStore} implement it.
 *
 * <p>Keys are the strings that {@code CacheAside} formats; values are opaque bytes (an envelope
 * written by the core, never interpreted by the store). Every method is lazy (nothing happens
 * until subscription), never blocks, and signals failures as {@code onError}: the core turns a
 * failing read into a miss and never lets a store failure fail a read the loader can answer.
 *
 * <h2>Leases</h2>
 * Leases make one load across many instances and prevent stale sets, as memcache leases do
 * (Nishtala et al., NSDI 2013). The operations are stated in the SPI's own terms, so a store
 * other than Redis (Memcached's meta protocol has them built in) can implement them:
 * <ul>
 *   <li>{@link #getOrLease}: the value, or a lease token granting the right to load it, or word
 *       that somebody else holds the lease, in one atomic step;</li>
 *   <li>{@link #setIfLeased}: store only while the token is still the key's current lease, and
 *       clear the lease;</li>
 *   <li>{@link #delete}: remove the value <em>and</em> any lease, so a load that began before a
 *       write can no longer store its result afterwards.</li>
 * </ul>
 *
 * @since 0.1
 */
public interface CacheStore {

  /**
   * Reads one value.
   *
   * @return the stored bytes; empty when the key is absent or expired
   */
  Mono<byte[]> get(String key);

  /**
   * Reads many values in as few round trips as the store allows.
   *
   * @return the present keys and their bytes; absent keys are not in the map
   */
  Mono<Map<String, byte[]>> getAll(Collection<String> keys);

  /** Stores one value unconditionally with a time to live ({@code ttl > 0}). */
  Mono<Void> set(String key, byte[] value, Duration ttl);

  /**
   * Stores many values, each with its own TTL, in as few round trips as the store allows
   * (Redis: one pipeline per connection/slot).
   */
  Mono<Void> setAll(Collection<StoreEntry> entries);

  /** Deletes values and any leases on them; absent keys are ignored. */
  Mono<Void> delete(Collection<String> keys);

  /** Deletes one value and its lease. */
  default Mono<Void> delete(String key) {
    return delete(List.of(key));
  }

  /**
   * Atomically: returns the value if present; otherwise grants a new lease token for
   * {@code leaseTtl} if nobody holds one; otherwise says the key is being loaded elsewhere.
   */
  Mono<StoreLookup> getOrLease(String key, Duration leaseTtl);

  /**
   * {@link #getOrLease} for many keys, in as few round trips as the store allows.
   *
   * @return one lookup per distinct requested key, in no particular order
   */
  Flux<KeyedLookup> getOrLeaseAll(Collection<String> keys, Duration leaseTtl);

  /**
   * Grants a lease on a key whether or not a value is present (to refresh a stale or nearly
   * expired value), or completes empty when somebody else holds the lease.
   *
   * @return the new lease token, or empty when the lease is taken
   */
  Mono<String> tryLease(String key, Duration leaseTtl);

  /**
   * The first byte of every value the core stores (its entry format's magic number; every value
   * is at least two bytes long). A present value that does not begin with it, or is shorter than
   * two bytes, is not this library's: another application wrote it on a shared store, and
   * {@link #setIfLeased} never replaces it.
   *
   * @since 0.1
   */
  byte ENTRY_MARK = (byte) 0xCA;

  /**
   * Whether {@code value} may be this library's: at least two bytes, the first
   * {@link #ENTRY_MARK}. The one rule both sides keep: the core reads anything else as another
   * application's value, and {@link #setIfLeased} never replaces anything else.
   *
   * @since 0.1
   */
  static boolean isEntry(byte[] value) {
    return value.length >= 2 && value[0] == ENTRY_MARK;
  }

  /**
   * Stores the value only if {@code token} is still the key's current lease and the key holds no
   * value that is not this library's, and clears the lease in the same atomic step. A value that
   * is not an {@linkplain #isEntry entry} (or, in a store with types, a value of another type),
   * written by another application while the lease was held, is left as it is: the lease is
   * cleared and nothing is stored.
   *
   * @return {@code true} when stored; {@code false} when the lease was lost (invalidated,
   *     expired or taken over) or the key holds a value that is not this library's, in which
   *     case nothing was written
   */
  Mono<Boolean> setIfLeased(String key, String token, byte[] value, Duration ttl);

  /**
   * {@link #setIfLeased} for many keys; each entry is checked against its own token and its own
   * present value.
   *
   * @return the keys that were stored
   */
  Flux<String> setAllIfLeased(Collection<LeasedEntry> entries);

  /**
   * Gives up a lease without storing anything (the load failed), so that waiters can take over
   * at once instead of after the lease TTL. Does nothing if the token is no longer current.
   */
  Mono<Void> releaseLease(String key, String token);

  /**
   * A hint that the lease on {@code key} may have ended: completes when the store hears that its
   * holder stored a value or released the lease, so that a caller waiting for somebody else's
   * load can look again at once instead of at its next backoff step.
   *
   * <p>It is only a hint, and the core treats it as one: the waiter keeps its backoff timer and
   * looks again whichever comes first, so a signal that is late, lost or never sent costs latency,
   * never correctness. A signal sent before the subscription may be missed. An error is treated
   * as "never". A store that cannot notify returns {@link Mono#never()}, the default, and its
   * waiters poll. {@code RedisCacheStore} notifies through Redis pub/sub when it was created with
   * a pub/sub connection.
   *
   * @return a publisher that completes (empty) when the lease ended, or never
   */
  default Mono<Void> leaseEnded(String key) {
    return Mono.never();
  }

  /**
   * Reads the namespace generation of the cache named {@code namespace}: a number that is part
   * of every key the cache makes, so that bumping it makes every older entry unreachable at once
   * (see {@code CacheAside.bumpGeneration()}).
   *
   * <p>A generation is never given out twice for a namespace, even after the store lost it (a
   * flush, a restart without persistence): an entry written under an old generation must never
   * become reachable again. So a namespace that has none yet starts at a value taken from the
   * store's clock (microseconds since the epoch, say), and a bump moves it to the larger of its
   * value plus one and that clock.
   *
   * <p>Generations are their own operations, not keys that decorators must recognise, so that a
   * decorator can treat them as what they are (a resilient store never holds them back, and bumps
   * them when it lost invalidations). The store keeps them apart from cache entries: no store
   * key can name a generation.
   *
   * @param namespace the cache's name, not empty
   * @return the current generation, positive
   */
  Mono<Long> generation(String namespace);

  /**
   * Moves the namespace generation of the cache named {@code namespace} on, atomically, to a
   * value it never had (see {@link #generation}).
   *
   * @param namespace the cache's name, not empty
   * @return the new generation
   */
  Mono<Long> bumpGeneration(String namespace);

  /**
   * The store's clock, in milliseconds since the epoch, as the part of the store that keeps
   * {@code namespace}'s generation reads it (Redis: {@code TIME} on that node). Every instance
   * reads the same clock this way, so entries are stamped and judged by one clock however far
   * the instances' own clocks drift apart. Empty when the store has no clock of its own (the
   * default); the cache then uses its own.
   *
   * @param namespace the cache's name, not empty
   * @return the store's time, or empty
   */
  default Mono<Long> time(String namespace) {
    return Mono.empty();
  }

  /**
   * Registers {@code listener} to hear which entries of this store change, as far as the store
   * can tell: the invalidation stream a near cache needs ({@code CacheAsideBuilder.nearCache}).
   * The listener is told {@link InvalidationListener#restored()} once the stream is up (at once
   * if it is), and {@link InvalidationListener#lost()} whenever it breaks. Never blocks.
   *
   * <p>A store that can tell must announce every delete, every replacement of a present value
   * and every generation bump made through any instance's store on the same backend. The default
   * returns null: the store cannot tell, and a cache on it cannot have a near cache.
   *
   * @return what unregisters the listener, or null when the store has no invalidation stream
   */
  default @Nullable Disposable invalidations(InvalidationListener listener) {
    return null;
  }

  /**
   * Checks that the store answers: one round trip that touches no entry ({@code PING} on Redis).
   * For health checks; the core never calls it on a read. Completes empty when the store
   * answered, errors when it did not. The default completes at once (a store in this JVM is
   * always there).
   *
   * @return completes when the store answered
   */
  default Mono<Void> ping() {
    return Mono.empty();
  }

  /**
   * What the store knows of its own health, without I/O: {@link StoreState#UP} by default. A
   * decorator that skips a failing store (a circuit breaker) says {@link StoreState#DOWN} while
   * it does, and {@link StoreState#DEGRADED} while it recovers or owes work. Cheap enough to
   * call on every metrics scrape.
   */
  default StoreState state() {
    return StoreState.UP;
  }

  /**
   * A new, practically unique lease token for stores that must mint their own (Redis: the script
   * sets the token it is given). 128 random bits from {@link ThreadLocalRandom}: leases need
   * uniqueness, not secrecy, and {@code UUID.randomUUID()} may block reading the entropy device.
   */
  static String newLeaseToken() {
    ThreadLocalRandom random = ThreadLocalRandom.current();
    return Long.toHexString(random.nextLong()) + Long.toHexString(random.nextLong() | 1L << 63);
  }

  /** A value to store with {@link #setAll}. */
  record StoreEntry(String key, byte[] value, Duration ttl) {
    /** Checks that the entry can be stored. */
    public StoreEntry {
      StoreChecks.checkEntry(key, value, ttl);
    }
  }

  /** A value to store with {@link #setAllIfLeased}, under the lease {@code token}. */
  record LeasedEntry(String key, String token, byte[] value, Duration ttl) {
    /** Checks that the entry can be stored. */
    public LeasedEntry {
      StoreChecks.checkEntry(key, value, ttl);
      StoreChecks.checkToken(token);
    }
  }

  /** One result of {@link #getOrLeaseAll}. */
  record KeyedLookup(String key, StoreLookup lookup) {}
}
