package dev.cacheaside.redis;

import dev.cacheaside.core.spi.CacheStore;
import dev.cacheaside.core.spi.InvalidationListener;
import dev.cacheaside.core.spi.StoreChecks;
import dev.cacheaside.core.spi.StoreLookup;
import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulConnection;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.cluster.ClusterClientOptions;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.lettuce.core.cluster.api.reactive.RedisClusterReactiveCommands;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.codec.RedisCodec;
import io.lettuce.core.codec.StringCodec;
import io.lettuce.core.resource.Delay;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * A {@link CacheStore} on Redis through Lettuce's reactive API: standalone Redis, Redis managed
 * by Sentinel (a {@code redis-sentinel://} URI), or Redis Cluster. Build one from a URI, and the
 * store makes and owns a Lettuce client with the options a cache wants (see
 * {@link #recommendedClientOptions()}); or from your own client or connections:
 *
 * <pre>{@code
 * try (RedisCacheStore store = RedisCacheStore.builder().uri("redis://localhost:6379").build()) {
 *   CacheAside<Long, Product> products = CacheAside.<Long, Product>builder("products")
 *       .store(store)
 *       .codec(JsonCodec.of(Product.class))
 *       .build();
 *   ...
 * }
 * RedisCacheStore onYourClient = RedisCacheStore.create(redisClient);   // your client's options
 * }</pre>
 *
 * <h2>Non-blocking</h2>
 * Only building a store from a client or a URI blocks: it opens connections, once, when the application
 * starts. Every other method returns a lazy publisher (nothing is sent to Redis until
 * subscription) that never blocks the subscribing thread; signals arrive on Lettuce's event loop.
 * A Redis error, a timeout or a closed connection is an {@code onError} of the returned
 * publisher; an invalid argument (a null or empty key, a TTL under one millisecond) throws at
 * once, when the method is called.
 *
 * <h2>Commands</h2>
 * A {@code get} is a plain {@code GET}, with nothing around it. {@code getAll} is {@code MGET},
 * {@code set} is {@code SET PX}, {@code setAll} a pipelined run of {@code SET PX}, {@code delete}
 * a {@code DEL} of the values and their leases, {@code tryLease} a {@code SET NX PX} and
 * {@code ping} a {@code PING}. {@code getOrLease}, {@code setIfLeased} and {@code releaseLease}
 * (and their bulk forms), {@code generation}, {@code bumpGeneration} and {@code time} are Lua
 * scripts, run by digest with
 * {@code EVALSHA}; a node that lost its script cache answers {@code NOSCRIPT}, and the call is
 * retried once with the script's body, which caches it again.
 *
 * <h2>Key layout</h2>
 * An entry is two Redis keys, its value at {@link #valueKey(String) valueKey(key)} and its lease
 * at {@link #leaseKey(String) leaseKey(key)}, in one hash slot (the layout is in ARCHITECTURE.md,
 * "Key layout"): a store key {@code k} is stored at <code>ca:{E(k)}</code> and its lease at
 * <code>ca:{E(k)}:l</code>, where {@code E} escapes {@code %}, <code>{</code> and <code>}</code>,
 * so no key, whatever its characters, names another's value, lease or generation. Everything the
 * store keeps begins with {@code ca:}.
 *
 * <h2>Waiting for another instance's load</h2>
 * A caller whose {@code getOrLease} finds the key leased elsewhere waits for the holder's value
 * with backoff (see {@code CacheAsideBuilder.leaseBackoff}). A store with a pub/sub connection
 * (one built from a client opens one unless
 * {@link RedisCacheStoreBuilder#leaseEndNotifications(boolean) leaseEndNotifications(false)};
 * {@link RedisCacheStoreBuilder#pubSub} takes the caller's) also tells it as soon as the holder
 * stored or released ({@link #leaseEnded}), so it looks again at once rather than at its next
 * step. A waiting store marks the lease it found ({@code APPEND}, once), and the holder's
 * {@code setIfLeased} or {@code releaseLease} of a marked lease {@code PUBLISH}es the value key on
 * {@code cache-aside:lease-ended}; an unmarked lease, the uncontended case, costs no publish at
 * all. In a cluster, Redis carries the message to every node, so one subscription on any node
 * hears all of them.
 *
 * <p>Pub/sub is at most once: a message lost in a reconnect, or sent in the moment between a
 * waiter's first {@code getOrLease} reply and its watch (later looks are watched from before
 * they are sent), only means the waiter looks again at its next backoff step, as it would without
 * the connection. A bulk waiter looks again when every key it waits for was announced, or at its
 * step. Stores without a pub/sub connection still publish for the waiters of stores that have
 * one, so the two kinds can share a Redis. The channel is one per Redis (per cluster), so each
 * listening store hears the contended lease ends of every application on it and ignores the keys
 * it does not watch. With Redis ACLs, the store's user needs {@code &cache-aside:lease-ended}
 * (publish and subscribe); without it the scripts' publish is refused quietly and waiters only
 * poll.
 *
 * <p>The scripts accept a lease with or without the mark. Scripts of a build before lease-end
 * notifications compare the lease to the token exactly: do not run such a build against the same
 * Redis as this one, or its stores fail on leases that this one marked.
 *
 * <h2>Redis Cluster</h2>
 * Multi-key operations are split by the hash slot of each value key and the parts run
 * concurrently, pipelined on the connections to the nodes: a bulk script runs once per slot
 * group, {@code MGET} and {@code DEL} are split by Lettuce the same way, and each {@code SET} of
 * {@code setAll} goes to the node that owns its key.
 *
 * @since 0.1
 */
public final class RedisCacheStore implements CacheStore, AutoCloseable {
  private static final RedisCodec<String, byte[]> CODEC =
      RedisCodec.of(StringCodec.UTF8, ByteArrayCodec.INSTANCE);

  /**
   * The most {@code SET}s of one {@code setAll} in flight at a time. They are pipelined either way
   * (each is written as soon as its predecessor is, without waiting for replies); the bound keeps
   * the subscriber bookkeeping of a huge batch small while a new command replaces each reply.
   */
  private static final int MAX_PIPELINED_SETS = 1024;

  private final StatefulConnection<String, byte[]> connection;
  private final RedisClusterReactiveCommands<String, byte[]> redis;
  private final boolean cluster;
  private final boolean ownsConnection;
  /** The client the store made from a URI, shut down with it; null when the caller's. */
  private final @Nullable OwnClient ownClient;
  /** The pub/sub side: {@link LeaseEnds#none()} when waiters only poll. */
  private final LeaseEnds leaseEnds;
  /** The invalidation stream on the pub/sub connection; null without one. */
  private final @Nullable Invalidations invalidations;
  /** The lease scripts' calling convention, on {@link #redis}. */
  private final LeaseCommands leases;
  /** Closing twice is harmless but makes Lettuce log a warning; only the first close closes. */
  private final AtomicBoolean closed = new AtomicBoolean();

  /**
   * A store on {@code connection} (standalone, master/replica or cluster), which it closes on
   * {@link #close()} when {@code ownsConnection}, and then shuts {@code ownClient} down if it made
   * one; {@code leaseEnds} is closed with it either way (a caller's pub/sub connection only loses
   * its listener). Made by {@link RedisCacheStoreBuilder}.
   */
  RedisCacheStore(StatefulConnection<String, byte[]> connection, boolean ownsConnection,
      LeaseEnds leaseEnds, @Nullable OwnClient ownClient) {
    this.connection = connection;
    if (connection instanceof StatefulRedisClusterConnection<String, byte[]> onCluster) {
      this.redis = onCluster.reactive();
      this.cluster = true;
    } else {
      this.redis = ((StatefulRedisConnection<String, byte[]>) connection).reactive();
      this.cluster = false;
    }
    this.ownsConnection = ownsConnection;
    this.ownClient = ownClient;
    this.leaseEnds = leaseEnds;
    var pubSub = leaseEnds.connection();
    this.invalidations = pubSub == null ? null : new Invalidations(pubSub);
    this.leases = new LeaseCommands(redis, leaseEnds);
  }

  /**
   * A builder for a store: on a client (the store opens and owns its connections) or on the
   * caller's connections; see {@link RedisCacheStoreBuilder} for the options and their defaults.
   *
   * <pre>{@code
   * RedisCacheStore store = RedisCacheStore.builder()
   *     .client(redisClient)               // or .connection(yours), optionally .pubSub(yours)
   *     .leaseEndNotifications(false)      // default true: one more, pub/sub, connection
   *     .build();
   * }</pre>
   */
  public static RedisCacheStoreBuilder builder() {
    return new RedisCacheStoreBuilder();
  }

  /**
   * {@code builder().client(client).build()}: opens a connection with {@code client} and a
   * pub/sub connection for lease-end notifications, and returns a store that owns both
   * ({@link #close()} closes them). Works for a standalone Redis and for one managed by Sentinel.
   *
   * <p>This blocks the calling thread until the connections are open: call it when the
   * application starts, not on an event loop.
   *
   * @throws NullPointerException if {@code client} is null
   * @throws io.lettuce.core.RedisConnectionException if Redis cannot be reached
   */
  public static RedisCacheStore create(RedisClient client) {
    return builder().client(client).build();
  }

  /**
   * {@code builder().client(client).build()} for a Redis Cluster: opens a connection to the
   * cluster and a pub/sub connection (to one node) for lease-end notifications, and returns a
   * store that owns both.
   *
   * <p>This blocks the calling thread until the connections are open: call it when the
   * application starts, not on an event loop.
   *
   * @throws NullPointerException if {@code client} is null
   * @throws io.lettuce.core.RedisConnectionException if no cluster node can be reached
   */
  public static RedisCacheStore create(RedisClusterClient client) {
    return builder().client(client).build();
  }

  /**
   * The Lettuce options recommended for a client a cache store runs on, as
   * {@link RedisCacheStoreBuilder#uri} gives its own client: commands rejected at once while
   * disconnected ({@code REJECT_COMMANDS}; Lettuce's default keeps them until it has reconnected,
   * so every read would wait), a command timeout of 1 s ({@code TimeoutOptions}) and a connect
   * timeout of 2 s. Pair them with {@link #recommendedReconnectDelay()}:
   *
   * <pre>{@code
   * ClientResources resources = ClientResources.builder()
   *     .reconnectDelay(RedisCacheStore.recommendedReconnectDelay()).build();
   * RedisClient client = RedisClient.create(resources, "redis://localhost:6379");
   * client.setOptions(RedisCacheStore.recommendedClientOptions());
   * // or start from them: RedisCacheStore.recommendedClientOptions().mutate()...build()
   * }</pre>
   *
   * @since 0.1
   */
  public static ClientOptions recommendedClientOptions() {
    return OwnClient.clientOptions();
  }

  /**
   * {@link #recommendedClientOptions()} for a {@link RedisClusterClient}, with topology refresh:
   * every 30 s and on the adaptive triggers (redirections, uncovered slots, unknown nodes,
   * repeated reconnects), so a failover is followed; Lettuce's default never refreshes.
   *
   * @since 0.1
   */
  public static ClusterClientOptions recommendedClusterClientOptions() {
    return OwnClient.clusterClientOptions();
  }

  /**
   * The recommended reconnect delay, for {@code ClientResources.builder().reconnectDelay(..)}:
   * from 10 ms, doubling, at most 1 s, so the cache is back within a second of Redis (Lettuce's
   * default backs off to 30 s).
   *
   * @since 0.1
   */
  public static Delay recommendedReconnectDelay() {
    return OwnClient.reconnectDelay();
  }

  /**
   * The codec of the store's connections: keys as UTF-8 strings, values as raw bytes. Use it to
   * open connections for {@link RedisCacheStoreBuilder#connection(StatefulRedisConnection)} and
   * {@link RedisCacheStoreBuilder#pubSub}.
   */
  public static RedisCodec<String, byte[]> codec() {
    return CODEC;
  }

  /**
   * The Redis key that holds the value of the store key {@code key}: <code>ca:{E(key)}</code>,
   * where {@code E} writes {@code %} as {@code %25}, <code>{</code> as {@code %7B} and
   * <code>}</code> as {@code %7D}. For tools and tests: {@code valueKey(cache.storeKey(k))}.
   *
   * @throws NullPointerException if {@code key} is null
   * @throws IllegalArgumentException if {@code key} is empty
   */
  public static String valueKey(String key) {
    return RedisKeyLayout.valueKey(key);
  }

  /**
   * The Redis key that holds the lease of the store key {@code key}, in its value key's hash
   * slot.
   *
   * @throws NullPointerException if {@code key} is null
   * @throws IllegalArgumentException if {@code key} is empty
   */
  public static String leaseKey(String key) {
    return RedisKeyLayout.leaseKey(key);
  }

  // ---------------------------------------------------------------------------------------------
  // Plain reads and writes

  /**
   * {@code GET} of the value key.
   *
   * <p>Emits the stored bytes, or completes empty when the key is absent or expired; errors with
   * Lettuce's exception when Redis fails or the connection is closed. A cancel drops the reply.
   */
  @Override
  public Mono<byte[]> get(String key) {
    // The hit path: nothing but Lettuce's own publisher.
    return redis.get(valueKey(key));
  }

  /**
   * {@code MGET} of the value keys (in a cluster, one {@code MGET} per hash slot, sent together).
   *
   * <p>Emits a new mutable map of the present keys to their bytes (absent keys are not in it; a
   * duplicate key is in it once); an empty collection emits an empty map without a round trip.
   * Keys are not de-duplicated first: callers (the core's bulk read) pass distinct keys already,
   * a second pass cost more than the rare duplicate {@code MGET} argument it would save.
   */
  @Override
  public Mono<Map<String, byte[]>> getAll(Collection<String> keys) {
    Objects.requireNonNull(keys, "keys must not be null");
    int n = keys.size();
    if (n == 0) {
      return Mono.fromSupplier(HashMap::new);
    }
    String[] cacheKeys = new String[n];
    String[] valueKeys = new String[n];
    int i = 0;
    for (String key : keys) {
      cacheKeys[i] = key;
      valueKeys[i] = valueKey(key);
      i++;
    }
    return redis.mget(valueKeys).collect(() -> new MgetHits(cacheKeys), MgetHits::add)
        .map(MgetHits::found);
  }

  /**
   * {@code SET value PX ttl} in a script that announces the value key on the invalidation channel
   * when it replaced a value (see {@link #invalidations}): the {@link CacheStore} contract asks
   * every replacement of a present value to be announced, and without leases a refresh replaces
   * values with this call. The entry's lease, if any, stays. Completes when Redis confirmed the
   * write.
   */
  @Override
  public Mono<Void> set(String key, byte[] value, Duration ttl) {
    String valueKey = valueKey(key);
    StoreChecks.checkValue(value);
    long millis = StoreChecks.ttlMillis(ttl, "ttl");
    return setAnnounced(valueKey, value, millis).then();
  }

  private Flux<Long> setAnnounced(String valueKey, byte[] value, long ttlMillis) {
    return LeaseScripts.SET_ANNOUNCED.run(redis, new String[] {valueKey}, value,
        Long.toString(ttlMillis).getBytes(StandardCharsets.US_ASCII));
  }

  /**
   * One {@link #set} per entry (its script: {@code SET PX}, announced if it replaced a value), each
   * with its own TTL, all sent without waiting for the replies
   * in between (Lettuce pipelines commands issued together); in a cluster each goes to the node
   * that owns its key. Completes when every write is confirmed; errors with the first failure
   * (writes already sent stay written). An empty collection completes at once.
   */
  @Override
  public Mono<Void> setAll(Collection<StoreEntry> entries) {
    List<StoreEntry> copy = copyOf(entries, "entries");
    if (copy.isEmpty()) {
      return Mono.empty();
    }
    return Flux.fromIterable(copy)
        .flatMap(e -> setAnnounced(valueKey(e.key()), e.value(), e.ttl().toMillis()),
            Math.min(copy.size(), MAX_PIPELINED_SETS))
        .then();
  }

  /**
   * One {@code delete} script call per hash slot (sent together): {@code DEL} of the values and
   * the leases of {@code keys}, and their announcement on the invalidation channel in the same
   * atomic step (see {@link #invalidations}); absent keys are ignored, and announced all the
   * same. Completes when Redis confirmed it.
   */
  @Override
  public Mono<Void> delete(Collection<String> keys) {
    String[] distinct = distinctKeys(keys);
    if (distinct.length == 0) {
      return Mono.empty();
    }
    return forEachSlot(List.of(distinct), Function.identity(), this::deleteGroup).then();
  }

  /** The {@code delete} script for the value and the lease of {@code key}: one slot. */
  @Override
  public Mono<Void> delete(String key) {
    String valueKey = valueKey(key);
    return LeaseScripts.DELETE.run(redis,
        new String[] {valueKey, RedisKeyLayout.leaseKeyOf(valueKey)}).then();
  }

  private Flux<Long> deleteGroup(List<String> group) {
    String[] redisKeys = new String[2 * group.size()];
    for (int i = 0; i < group.size(); i++) {
      String valueKey = valueKey(group.get(i));
      redisKeys[2 * i] = valueKey;
      redisKeys[2 * i + 1] = RedisKeyLayout.leaseKeyOf(valueKey);
    }
    return LeaseScripts.DELETE.run(redis, redisKeys);
  }

  /**
   * The invalidation stream for near caches: every store announces its deletes, the values its
   * {@code setIfLeased} replaced and its generation bumps on {@code cache-aside:invalidated},
   * inside the script that makes the change; this store's pub/sub connection subscribes when the
   * first listener registers. The listener hears {@code restored} once Redis confirmed the
   * subscription and {@code lost} whenever the pub/sub connection drops (until Lettuce has
   * subscribed again). In a cluster, Redis carries every message to every node, so the one
   * subscription hears all of them. Null when the store has no pub/sub connection
   * ({@link RedisCacheStoreBuilder#leaseEndNotifications(boolean) leaseEndNotifications(false)}).
   * A plain {@code set} (leases off) that replaced a value is announced too.
   */
  @Override
  public @Nullable Disposable invalidations(InvalidationListener listener) {
    Objects.requireNonNull(listener, "listener must not be null");
    return invalidations == null ? null : invalidations.register(listener);
  }

  /**
   * The cache's generation ({@code ca:g:{<name>}}): one script call, which creates it from the
   * server's clock when it is absent, so a generation lost with the data is never given out again
   * (see {@code CacheStore.generation}).
   */
  @Override
  public Mono<Long> generation(String namespace) {
    String[] keys = {RedisKeyLayout.generationKey(namespace)};
    return GenerationScripts.READ.<Long>run(redis, keys).single();
  }

  /** One script call: the larger of the generation plus one and the server's clock. */
  @Override
  public Mono<Long> bumpGeneration(String namespace) {
    String[] keys = {RedisKeyLayout.generationKey(namespace)};
    return GenerationScripts.BUMP.<Long>run(redis, keys).single();
  }

  /**
   * {@code TIME} of the node that keeps {@code namespace}'s generation (in a cluster, every
   * instance so reads one node's clock), in milliseconds.
   */
  @Override
  public Mono<Long> time(String namespace) {
    String[] keys = {RedisKeyLayout.generationKey(namespace)};
    return GenerationScripts.TIME.<Long>run(redis, keys).single();
  }

  /** {@code PING}: completes when Redis answered (in a cluster, the node Lettuce picks). */
  @Override
  public Mono<Void> ping() {
    return redis.ping().then();
  }

  // ---------------------------------------------------------------------------------------------
  // Leases

  /**
   * One script call: {@code GET} the value; if absent, {@code SET lease token NX PX leaseTtl}
   * with a token minted for this subscription.
   *
   * <p>Emits {@link StoreLookup.Found}, {@link StoreLookup.Granted} or
   * {@link StoreLookup.Contended}; errors with Lettuce's exception. A cancel before the lookup is
   * emitted releases the lease the script may have granted (the release runs after the script on
   * the same connection, so it cannot overtake it), so that nobody waits for a lease nobody
   * holds.
   */
  @Override
  public Mono<StoreLookup> getOrLease(String key, Duration leaseTtl) {
    String valueKey = valueKey(key);
    return leases.getOrLease(valueKey, StoreChecks.ttlMillis(leaseTtl, "leaseTtl"));
  }

  /**
   * {@link #getOrLease} for many keys: one script call for all of them (in a cluster, one per
   * hash slot, run concurrently). Emits one lookup per distinct key, in no particular order;
   * errors with the first failing call (lookups already emitted stand). A cancel releases the
   * leases of the lookups not emitted yet.
   */
  @Override
  public Flux<KeyedLookup> getOrLeaseAll(Collection<String> keys, Duration leaseTtl) {
    String[] distinct = distinctKeys(keys);
    long ttl = StoreChecks.ttlMillis(leaseTtl, "leaseTtl");
    if (distinct.length == 0) {
      return Flux.empty();
    }
    return forEachSlot(List.of(distinct), Function.identity(),
        group -> leases.getOrLeaseAll(group, ttl));
  }

  /**
   * {@code SET lease token NX PX leaseTtl}, whether or not a value is present (one command is
   * atomic; no script needed). Emits the token minted for this subscription, or completes empty
   * when another caller holds the lease. A cancel before the token is emitted releases it.
   */
  @Override
  public Mono<String> tryLease(String key, Duration leaseTtl) {
    String valueKey = valueKey(key);
    return leases.tryLease(valueKey, StoreChecks.ttlMillis(leaseTtl, "leaseTtl"));
  }

  /**
   * One script call: if the lease key still holds {@code token}, {@code SET value PX ttl} and
   * delete the lease. Emits {@code true} when stored, {@code false} when the lease was gone
   * (deleted by an invalidation, expired, or taken over) and nothing was written.
   */
  @Override
  public Mono<Boolean> setIfLeased(String key, String token, byte[] value, Duration ttl) {
    String valueKey = valueKey(key);
    StoreChecks.checkToken(token);
    StoreChecks.checkValue(value);
    return leases.setIfLeased(valueKey, token, value, StoreChecks.ttlMillis(ttl, "ttl"));
  }

  /**
   * {@link #setIfLeased} for many entries, each under its own token: one script call for all (in
   * a cluster, one per hash slot, run concurrently). Emits the keys that were stored, in no
   * particular order; errors with the first failing call.
   */
  @Override
  public Flux<String> setAllIfLeased(Collection<LeasedEntry> entries) {
    List<LeasedEntry> copy = copyOf(entries, "entries");
    if (copy.isEmpty()) {
      return Flux.empty();
    }
    return forEachSlot(copy, LeasedEntry::key, leases::setAllIfLeased);
  }

  /**
   * One script call: deletes the lease only while it still holds {@code token}, so a holder
   * whose lease expired and passed to another caller cannot release the successor's lease.
   * Completes when done, whether or not there was anything to release.
   */
  @Override
  public Mono<Void> releaseLease(String key, String token) {
    String valueKey = valueKey(key);
    StoreChecks.checkToken(token);
    return leases.releaseLease(valueKey, token);
  }

  /**
   * Completes when a lease end of {@code key} is published on the lease-end channel (see the
   * class documentation); never, when this store has no pub/sub connection. The watch is
   * registered on subscription and removed on cancel; a message published before that is not
   * seen. Never errors.
   */
  @Override
  public Mono<Void> leaseEnded(String key) {
    String valueKey = valueKey(key);
    return leaseEnds.watch(valueKey);
  }

  /** The client this store made from a URI, or null; for tests. */
  @Nullable OwnClient ownClient() {
    return ownClient;
  }

  /** Whether this store's waiters mark the leases they wait for (it listens, confirmed). */
  boolean marksLeases() {
    return leaseEnds.marksLeases();
  }

  /** The keys with a lease-end watch registered; 0 without a pub/sub connection. */
  int watchedKeys() {
    return leaseEnds.watchedKeys();
  }

  // ---------------------------------------------------------------------------------------------
  // Helpers

  /**
   * Runs {@code call} once per group of items whose value keys share a hash slot, the groups
   * concurrently, since a script or a multi-key command in a cluster may touch one slot only.
   * Standalone Redis has no such limit: one group, one call.
   */
  private <T, R> Flux<R> forEachSlot(List<T> items, Function<T, String> keyOf,
      Function<List<T>, Flux<R>> call) {
    if (!cluster || items.size() < 2) {
      return call.apply(items);
    }
    Map<Integer, List<T>> groups = new HashMap<>();
    for (T item : items) {
      int slot = RedisKeyLayout.slot(valueKey(keyOf.apply(item)));
      groups.computeIfAbsent(slot, s -> new ArrayList<>()).add(item);
    }
    if (groups.size() == 1) {
      return call.apply(items);
    }
    return Flux.fromIterable(groups.values()).flatMap(call, groups.size());
  }

  /** The distinct keys, checked, in their first order. */
  private static String[] distinctKeys(Collection<String> keys) {
    Objects.requireNonNull(keys, "keys must not be null");
    LinkedHashSet<String> distinct = new LinkedHashSet<>(keys.size() * 2);
    for (String key : keys) {
      distinct.add(StoreChecks.checkKey(key));
    }
    return distinct.toArray(new String[0]);
  }

  private static <T> List<T> copyOf(Collection<T> items, String what) {
    Objects.requireNonNull(items, what + " must not be null");
    List<T> copy = new ArrayList<>(items.size());
    for (T item : items) {
      copy.add(Objects.requireNonNull(item, what + " must not contain null"));
    }
    return copy;
  }

  // ---------------------------------------------------------------------------------------------
  // Lifecycle

  /**
   * Closes the connections if this store opened them (built from a client or a URI), and shuts
   * down the client it made from a URI; a connection the caller passed in stays open, and a
   * caller's pub/sub connection loses this store's listener. Blocks until it is closed: call it
   * when the application stops, or use {@link #closeAsync()} on an event loop. After it, every
   * operation errors. Closing again does nothing.
   */
  @Override
  public void close() {
    if (invalidations != null) {
      invalidations.close();
    }
    if (!ownsConnection) {
      leaseEnds.close();
    } else if (closed.compareAndSet(false, true)) {
      try {
        connection.close();
      } finally {
        try {
          leaseEnds.close();
        } finally {
          if (ownClient != null) {
            ownClient.shutdown();
          }
        }
      }
    }
  }

  /**
   * {@link #close()} without blocking: closes on subscription and completes when the connection
   * is closed and the client the store made is shut down (at once when the caller owns the
   * connection or it was closed already).
   */
  public Mono<Void> closeAsync() {
    return Mono.defer(() -> {
      if (invalidations != null) {
        invalidations.close();
      }
      if (!ownsConnection) {
        return leaseEnds.closeAsync();
      }
      if (!closed.compareAndSet(false, true)) {
        return Mono.empty();
      }
      Mono<Void> connections =
          Mono.when(Mono.fromCompletionStage(connection.closeAsync()), leaseEnds.closeAsync());
      return ownClient == null ? connections
          : connections.onErrorResume(e -> Mono.empty()).then(ownClient.shutdownAsync());
    });
  }

  @Override
  public String toString() {
    return "RedisCacheStore[" + (cluster ? "cluster" : "standalone")
        + (ownsConnection ? "" : ", caller's connection")
        + (leaseEnds.listens() ? ", lease-end notifications" : "")
        + (ownClient == null ? "" : ", " + ownClient) + "]";
  }
}
