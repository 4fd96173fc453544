package dev.cacheaside.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cacheaside.core.CacheAside;
import dev.cacheaside.core.CacheAsideBuilder;
import dev.cacheaside.core.Codec;
import dev.cacheaside.core.NearCache;
import dev.cacheaside.core.spi.CacheStore;
import dev.cacheaside.core.spi.ForwardingCacheStore;
import dev.cacheaside.core.spi.InvalidationListener;
import dev.cacheaside.redis.RedisFixture.Topology;
import dev.cacheaside.testing.Poll;
import dev.cacheaside.testing.RedisProxy;
import dev.cacheaside.testing.TestPostgres;
import dev.cacheaside.testing.TestRedis;
import dev.cacheaside.testing.TestRedisCluster;
import dev.cacheaside.testing.TestSchema;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Function;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.test.StepVerifier;

/**
 * Issue 17 on a real Redis, standalone and cluster: the near cache's race between a store read
 * and an invalidation (forced: the reply is held until the invalidation was processed),
 * read-your-writes, invalidation across instances, a generation bump, a lost pub/sub connection
 * and a Redis restart, and four instances over a real PostgreSQL table.
 */
class NearCacheIT {
  private static final Duration WAIT = Duration.ofSeconds(10);
  private final List<AutoCloseable> closing = new ArrayList<>();

  @AfterEach
  void close() throws Exception {
    for (AutoCloseable c : closing) {
      c.close();
    }
  }

  private static void flush(Topology topology) {
    if (topology == Topology.STANDALONE) {
      TestRedis.get().flushAll();
    } else {
      TestRedisCluster.get().flushAll();
    }
  }

  private RedisCacheStore store(Topology topology) {
    RedisCacheStore store = topology.newStore();
    closing.add(store);
    return store;
  }

  private static CacheAsideBuilder<String, String> builder(CacheStore store) {
    return CacheAside.<String, String>builder("near").store(store).codec(Codec.utf8())
        .ttl(Duration.ofMinutes(5)).leaseWait(Duration.ofSeconds(30))
        // A load is a PostgreSQL query on a new connection, on a machine shared with other
        // builds: bound it (the load timeout follows the lease TTL) far above what it needs.
        .leaseTtl(Duration.ofSeconds(30));
  }

  /** A near instance on {@code store}, once its invalidation stream is up. */
  private static CacheAside<String, String> near(CacheStore store) {
    CacheAside<String, String> cache = builder(store)
        .nearCache(NearCache.ofEntries(10_000)).build();
    awaitLive(cache);
    return cache;
  }

  private static void awaitLive(CacheAside<?, ?> cache) {
    Poll.until("the invalidation stream of " + cache + " up", WAIT,
        () -> !cache.stats().nearCache().bypassing());
  }

  private static String read(CacheAside<String, String> cache, String key, String loaded) {
    return cache.cacheAside(key, k -> Mono.just(loaded)).block(WAIT);
  }

  /** Reads twice: the first stores (no fill under a lease), the second fills the tier. */
  private static void fill(CacheAside<String, String> cache, String key, String loaded) {
    read(cache, key, loaded);
    read(cache, key, loaded);
  }

  @ParameterizedTest
  @EnumSource(Topology.class)
  void race_replyHeldUntilTheInvalidationWasProcessed_oldValueNeverInstalled(Topology topology) {
    flush(topology);
    Holding held = new Holding(store(topology));
    CacheAside<String, String> near = near(held);
    CacheAside<String, String> writer = builder(store(topology)).build();
    read(near, "warm", "w");
    fill(writer, "k", "v1");

    held.hold();
    Sinks.One<String> answer = Sinks.one();
    near.cacheAside("k", k -> Mono.just("unused")).subscribe(answer::tryEmitValue);
    Poll.until("the GET answered by Redis and held", WAIT, () -> held.heldReplies() == 1);
    long messages = near.stats().nearCache().invalidationMessages();
    writer.invalidate("k").block(WAIT);
    Poll.until("the invalidation processed by the near instance", WAIT,
        () -> near.stats().nearCache().invalidationMessages() > messages);
    held.release();

    assertThat(answer.asMono().block(WAIT)).as("read before the delete").isEqualTo("v1");
    assertThat(near.stats().nearCache().size()).as("the old value never entered the tier")
        .isZero();
    assertThat(read(near, "k", "v2")).isEqualTo("v2");
  }

  /** A proxy in front of the test Redis, closed after the test. */
  private RedisProxy proxy(TestRedis redis) throws Exception {
    RedisURI uri = redis.uri();
    RedisProxy proxy = new RedisProxy(uri.getHost(), uri.getPort());
    closing.add(proxy::close);
    return proxy;
  }

  /** A client of {@code redis} whose connections go through {@code proxy}, shut after the test. */
  private RedisClient clientThrough(RedisProxy proxy, TestRedis redis) {
    RedisURI proxied = redis.uri();
    proxied.setHost("127.0.0.1");
    proxied.setPort(proxy.port());
    RedisClient client = RedisClient.create(redis.client().getResources(), proxied);
    closing.add(client::shutdown);
    return client;
  }

  /** The same race with the reply held on the wire, by a proxy in front of Redis. */
  @Test
  void race_replyHeldOnTheWire_oldValueNeverInstalled() throws Exception {
    TestRedis redis = TestRedis.get();
    redis.flushAll();
    RedisProxy proxy = proxy(redis);
    RedisClient proxiedClient = clientThrough(proxy, redis);
    // Commands through the proxy, invalidations straight from Redis: the reply is held, the
    // announcement of the delete is not.
    RedisCacheStore store = RedisCacheStore.builder()
        .connection(proxiedClient.connect(RedisCacheStore.codec()))
        .pubSub(redis.client().connectPubSub(RedisCacheStore.codec()))
        .build();
    closing.add(store);
    CacheAside<String, String> near = near(store);
    CacheAside<String, String> writer = builder(store(Topology.STANDALONE)).build();
    read(near, "warm", "w");
    fill(writer, "k", "v1");
    StatefulRedisConnection<String, String> admin = redis.client().connect();
    closing.add(admin);
    long getsBefore = getCalls(admin);

    proxy.holdReplies();
    Sinks.One<String> answer = Sinks.one();
    near.cacheAside("k", k -> Mono.just("unused")).subscribe(answer::tryEmitValue);
    Poll.until("the GET run by Redis", WAIT, () -> getCalls(admin) > getsBefore);
    long messages = near.stats().nearCache().invalidationMessages();
    writer.invalidate("k").block(WAIT);
    Poll.until("the invalidation processed", WAIT,
        () -> near.stats().nearCache().invalidationMessages() > messages);
    proxy.releaseReplies();

    assertThat(answer.asMono().block(WAIT)).isEqualTo("v1");
    assertThat(near.stats().nearCache().size()).isZero();
    assertThat(read(near, "k", "v2")).isEqualTo("v2");
  }

  /**
   * A stream that stops without a disconnect (Redis or the network frozen: replies and messages
   * held, the TCP connection open) is a broken stream too: the announcement of a delete made
   * through another path is held with it, so the tier must stop answering.
   */
  @Test
  void streamFrozenWithoutADisconnect_bypassesTheTier() throws Exception {
    TestRedis redis = TestRedis.get();
    redis.flushAll();
    RedisProxy proxy = proxy(redis);
    RedisClient proxiedClient = clientThrough(proxy, redis);
    // Both connections through the proxy: holding its replies freezes commands and messages.
    RedisCacheStore store = RedisCacheStore.builder()
        .connection(proxiedClient.connect(RedisCacheStore.codec()))
        .pubSub(proxiedClient.connectPubSub(RedisCacheStore.codec()))
        .build();
    closing.add(store);
    CacheAside<String, String> near = builder(store).storeTimeout(Duration.ofMillis(500))
        .nearCache(NearCache.ofEntries(10_000)).build();
    awaitLive(near);
    CacheAside<String, String> writer = builder(store(Topology.STANDALONE)).build();
    fill(near, "k", "v1");
    assertThat(near.stats().nearCache().size()).isOne();

    proxy.holdReplies();
    // The row changes and the writer invalidates on a Redis it reaches: the delete is done and
    // announced, and the announcement waits in the proxy.
    writer.writeThenInvalidate("k", Mono.just("row updated")).block(WAIT);
    Poll.until("the frozen stream noticed", WAIT, () -> near.stats().nearCache().bypassing());
    assertThat(read(near, "k", "v2")).as("not the copy of the deleted value").isEqualTo("v2");
    proxy.releaseReplies();
  }

  /**
   * Keys whose escaped forms look alike (a brace, its escape written literally, an escaped
   * percent) and foreign messages on the channel: an announcement drops exactly its own key, and
   * garbage drops nothing.
   */
  @ParameterizedTest
  @EnumSource(Topology.class)
  void craftedKeysAndForeignMessages_dropExactlyTheAnnouncedKey(Topology topology) {
    flush(topology);
    RedisCacheStore nearStore = store(topology);
    CacheAside<String, String> near = near(nearStore);
    CacheAside<String, String> writer = builder(store(topology)).build();
    List<String> keys = List.of("a{b}", "a%7Bb%7D", "a%257Bb%257D", "}ca:{x}", "%", "%7");
    for (String key : keys) {
      fill(near, key, "v1:" + key);
    }
    assertThat(near.stats().nearCache().size()).isEqualTo(keys.size());
    long flushes = near.stats().nearCache().flushes();
    long messages = near.stats().nearCache().invalidationMessages();
    try (StatefulRedisConnection<String, String> admin = topology == Topology.STANDALONE
        ? TestRedis.get().client().connect() : null) {
      if (admin != null) {
        for (String garbage : List.of("}}}", "ca:{", "ca:{}", "ca:g:{}", "%7B}", "ca:{near}",
            "ca:g:{other}", "ca:{near:%7")) {
          admin.sync().publish(Invalidations.CHANNEL, garbage);
        }
      }
    }
    writer.invalidate("a%7Bb%7D").block(WAIT);
    Poll.until("the announcement of a%7Bb%7D processed", WAIT,
        () -> near.stats().nearCache().size() == keys.size() - 1);
    assertThat(near.stats().nearCache().invalidationMessages()).isGreaterThan(messages);
    assertThat(near.stats().nearCache().flushes()).as("no flush").isEqualTo(flushes);
    assertThat(near.stats().nearCache().bypassing()).isFalse();
    long hits = near.stats().nearCache().hits();
    for (String key : keys) {
      assertThat(read(near, key, "v2:" + key)).as(key)
          .isEqualTo(key.equals("a%7Bb%7D") ? "v2:" + key : "v1:" + key);
    }
    assertThat(near.stats().nearCache().hits()).as("the others still near hits")
        .isEqualTo(hits + keys.size() - 1);
  }

  /**
   * The heartbeat's PING is answered (not refused, not left unmatched) on a subscribed
   * connection in either protocol.
   */
  @ParameterizedTest
  @EnumSource(io.lettuce.core.protocol.ProtocolVersion.class)
  void heartbeatPing_isAnsweredOnASubscribedConnection(
      io.lettuce.core.protocol.ProtocolVersion protocol) {
    RedisClient client = RedisClient.create(TestRedis.get().client().getResources(),
        TestRedis.get().uri());
    client.setOptions(io.lettuce.core.ClientOptions.builder().protocolVersion(protocol).build());
    closing.add(client::shutdown);
    io.lettuce.core.pubsub.StatefulRedisPubSubConnection<String, byte[]> pubSub =
        client.connectPubSub(RedisCacheStore.codec());
    pubSub.sync().subscribe(Invalidations.CHANNEL);
    // RESP3 answers PONG; RESP2 answers ["pong", ""], which Lettuce reads as "": an answer
    // either way, which is all the heartbeat asks.
    assertThat(pubSub.reactive().ping().block(WAIT)).isIn("PONG", "");
  }

  private static long getCalls(StatefulRedisConnection<String, String> admin) {
    for (String line : admin.sync().info("commandstats").split("\r?\n")) {
      if (line.startsWith("cmdstat_get:")) {
        String calls = line.substring(line.indexOf("calls=") + 6);
        return Long.parseLong(calls.substring(0, calls.indexOf(',')));
      }
    }
    return 0;
  }

  @ParameterizedTest
  @EnumSource(Topology.class)
  void leaseHolderWhoseStoreWasRefused_fillsNothing(Topology topology) {
    flush(topology);
    CacheAside<String, String> near = near(store(topology));
    CacheAside<String, String> writer = builder(store(topology)).build();
    Sinks.One<String> load = Sinks.one();
    Sinks.One<String> answer = Sinks.one();
    near.cacheAside("k", k -> load.asMono()).subscribe(answer::tryEmitValue);
    Poll.until("the lease granted and the load started", WAIT,
        () -> near.stats().loads() == 1);
    writer.invalidate("k").block(WAIT);
    load.tryEmitValue("old");
    assertThat(answer.asMono().block(WAIT)).isEqualTo("old");
    assertThat(near.stats().leasesLost()).as("its store was refused").isEqualTo(1);
    assertThat(near.stats().nearCache().size()).isZero();
    assertThat(read(near, "k", "new")).isEqualTo("new");
  }

  /** "Tracking turned off": the channel unsubscribed on a connection of the caller's. */
  @Test
  void channelUnsubscribed_bypassesUntilSubscribedAgain() {
    TestRedis redis = TestRedis.get();
    redis.flushAll();
    var pubSub = redis.client().connectPubSub(RedisCacheStore.codec());
    RedisCacheStore store = RedisCacheStore.builder()
        .connection(redis.client().connect(RedisCacheStore.codec())).pubSub(pubSub).build();
    closing.add(pubSub);
    closing.add(store);
    CacheAside<String, String> near = near(store);
    fill(near, "k", "v1");
    pubSub.sync().unsubscribe(Invalidations.CHANNEL);
    Poll.until("bypassed", WAIT, () -> near.stats().nearCache().bypassing());
    assertThat(near.stats().nearCache().size()).isZero();
    pubSub.sync().subscribe(Invalidations.CHANNEL);
    awaitLive(near);
    fill(near, "k", "unused");
    assertThat(near.stats().nearCache().size()).isEqualTo(1);
  }

  @ParameterizedTest
  @EnumSource(Topology.class)
  void readYourWrites_theWriterNeverSeesItsOldCopy(Topology topology) {
    flush(topology);
    CacheAside<String, String> near = near(store(topology));
    fill(near, "k", "v1");
    assertThat(near.stats().nearCache().size()).isEqualTo(1);
    StepVerifier.create(near.writeThenInvalidate("k", Mono.just("w"))
            .then(Mono.fromSupplier(() -> near.stats().nearCache().size())))
        .as("the local copy is gone when the call completes").expectNext(0L).verifyComplete();
    assertThat(read(near, "k", "v2")).isEqualTo("v2");
  }

  /** Fails every call as its name says: a listener's bug, or BlockHound's error in it. */
  private static final class Throwing implements InvalidationListener {
    private final Supplier<? extends Throwable> failure;

    Throwing(Supplier<? extends Throwable> failure) {
      this.failure = failure;
    }

    private void fail() {
      Throwable t = failure.get();
      if (t instanceof Error error) {
        throw error;
      }
      throw (RuntimeException) t;
    }

    @Override
    public void invalidated(String storeKey) {
      fail();
    }

    @Override
    public void namespaceInvalidated(String namespace) {
      fail();
    }

    @Override
    public void lost() {}

    @Override
    public void restored() {}
  }

  /**
   * Listeners registered before a near cache that throw, an exception or an {@link Error} (what
   * BlockHound throws from a contended lock): the near cache after them still hears every
   * change, and the pub/sub connection is not reset (its copies are not flushed by a "lost").
   */
  @ParameterizedTest
  @EnumSource(Topology.class)
  void listenersThatThrow_neitherSilenceTheOthersNorBreakTheStream(Topology topology) {
    flush(topology);
    RedisCacheStore store = store(topology);
    store.invalidations(new Throwing(() -> new IllegalStateException("a listener's bug")));
    store.invalidations(new Throwing(() -> new AssertionError("an Error in a listener")));
    CacheAside<String, String> a = near(store);
    CacheAside<String, String> b = near(store(topology));
    for (String key : List.of("k1", "k2")) {
      fill(a, key, "v1");
    }
    long flushes = a.stats().nearCache().flushes();

    b.writeThenInvalidate("k1", Mono.just("w")).block(WAIT);
    Poll.until("k1 dropped past the throwing listeners", WAIT,
        () -> a.stats().nearCache().size() == 1);
    b.bumpGeneration().block(WAIT);
    Poll.until("the bump heard past the throwing listeners", WAIT,
        () -> a.stats().nearCache().flushes() == flushes + 1
            && a.stats().nearCache().size() == 0);
    assertThat(a.stats().nearCache().bypassing()).as("the stream was never lost").isFalse();
  }

  @ParameterizedTest
  @EnumSource(Topology.class)
  void writeOnAnotherInstance_dropsTheCopy_andAGenerationBumpDropsAll(Topology topology) {
    flush(topology);
    CacheAside<String, String> a = near(store(topology));
    CacheAside<String, String> b = near(store(topology));
    for (String key : List.of("k1", "k2", "k3")) {
      fill(a, key, "v1");
    }
    assertThat(a.stats().nearCache().size()).isEqualTo(3);
    b.writeThenInvalidate("k1", Mono.just("w")).block(WAIT);
    Poll.until("k1 dropped on the other instance", WAIT,
        () -> a.stats().nearCache().size() == 2);
    assertThat(read(a, "k1", "v2")).isEqualTo("v2");

    long flushes = a.stats().nearCache().flushes();
    b.bumpGeneration().block(WAIT);
    Poll.until("every copy dropped on the other instance", WAIT,
        () -> a.stats().nearCache().size() == 0 && a.stats().nearCache().flushes() > flushes);
  }

  /**
   * Without leases every store is a plain {@code set}: a refresh on another instance replaces the
   * value in Redis, and the near copy of the old one must go as it does after a leased replace.
   */
  @ParameterizedTest
  @EnumSource(Topology.class)
  void leasesOff_aRefreshOnAnotherInstanceReplacesTheValue_dropsTheCopy(Topology topology) {
    flush(topology);
    CacheAside<String, String> a = builder(store(topology)).leases(false)
        .nearCache(NearCache.ofEntries(10_000)).build();
    awaitLive(a);
    // Refreshes once a millionth of the 5 minute lifetime has passed: on its first hits.
    CacheAside<String, String> b = builder(store(topology)).leases(false)
        .earlyRefresh(dev.cacheaside.core.EarlyRefresh.ahead(0.000001)).build();
    fill(a, "k", "v1");
    assertThat(a.stats().nearCache().size()).isEqualTo(1);
    Poll.until("the refresh on b replaced v1 in Redis", WAIT,
        () -> "v2".equals(read(b, "k", "v2")));
    Poll.until("a's copy of v1 dropped", WAIT, () -> "v2".equals(read(a, "k", "unused")));
  }

  @Test
  void pubSubConnectionKilled_flushesAndBypasses_thenRecovers() {
    flush(Topology.STANDALONE);
    CacheAside<String, String> near = near(store(Topology.STANDALONE));
    fill(near, "k", "v1");
    long flushes = near.stats().nearCache().flushes();
    try (StatefulRedisConnection<String, String> admin = TestRedis.get().client().connect()) {
      admin.sync().clientKill(io.lettuce.core.KillArgs.Builder.typePubsub());
    }
    Poll.until("lost and restored: two flushes", WAIT,
        () -> near.stats().nearCache().flushes() >= flushes + 2);
    awaitLive(near);
    assertThat(near.stats().nearCache().size()).isZero();
    fill(near, "k", "unused");
    assertThat(near.stats().nearCache().size()).as("filled again").isEqualTo(1);
  }

  @Test
  void redisRestarted_nothingReadBeforeIsServedAfter() {
    TestRedis redis = TestRedis.get();
    redis.flushAll();
    CacheAside<String, String> near = near(store(Topology.STANDALONE));
    fill(near, "k", "v1");
    redis.stop();
    Poll.until("bypassed while Redis is down", WAIT,
        () -> near.stats().nearCache().bypassing());
    assertThat(near.stats().nearCache().size()).isZero();
    assertThat(read(near, "k", "from-db")).as("read around the tier").isEqualTo("from-db");
    redis.start();
    awaitLive(near);
    assertThat(read(near, "k", "v2")).as("Redis came back empty; nothing from before")
        .isEqualTo("v2");
  }

  /**
   * Four instances, each with its own connections and near cache, reading and writing a real
   * PostgreSQL table; once settled, every instance answers every key with its row, and Redis
   * holds the row or nothing.
   */
  @ParameterizedTest
  @EnumSource(Topology.class)
  void fourInstances_mixedWorkload_everyTierAndRedisEqualTheRows(Topology topology) {
    flush(topology);
    try (TestSchema schema = TestPostgres.get().newSchema()) {
      ConnectionFactory db = schema.connectionFactory();
      int keys = 24;
      sql(db, "CREATE TABLE items (id int PRIMARY KEY, version int NOT NULL)").block();
      Flux.range(0, keys).concatMap(i -> sql(db, "INSERT INTO items VALUES (" + i + ", 0)"))
          .blockLast();
      List<CacheAside<String, String>> instances = new ArrayList<>();
      for (int i = 0; i < 4; i++) {
        instances.add(near(store(topology)));
      }
      Function<String, Mono<String>> loader = id -> query(db,
          "SELECT version FROM items WHERE id = " + Integer.parseInt(id));
      SplittableRandom random = new SplittableRandom(17);
      int operations = 2000;
      int[] kinds = new int[operations];
      int[] targets = new int[operations];
      int[] who = new int[operations];
      for (int i = 0; i < operations; i++) {
        kinds[i] = random.nextInt(10);
        targets[i] = random.nextInt(keys);
        who[i] = random.nextInt(instances.size());
      }
      Flux.range(0, operations)
          .flatMap(i -> {
            CacheAside<String, String> cache = instances.get(who[i]);
            String id = Integer.toString(targets[i]);
            if (kinds[i] < 2) {
              return cache.writeThenInvalidate(id,
                  sql(db, "UPDATE items SET version = version + 1 WHERE id = " + id)).then();
            }
            return cache.cacheAside(id, loader).then();
          }, 32)
          .blockLast(Duration.ofMinutes(2));
      long nearHits = instances.stream().mapToLong(c -> c.stats().nearCache().hits()).sum();
      assertThat(nearHits).as("the tiers answered reads").isPositive();

      CacheAside<String, String> plain = builder(store(topology)).build();
      for (int i = 0; i < keys; i++) {
        String id = Integer.toString(i);
        String row = loader.apply(id).block(WAIT);
        Poll.until("key " + id + " equal to its row on every instance", WAIT,
            () -> instances.stream().allMatch(c -> row.equals(c.cacheAside(id, loader)
                .block(WAIT))));
        assertThat(plain.cacheAside(id, k -> Mono.just("absent")).block(WAIT))
            .as("Redis holds key %s's row or nothing", id).isIn(row, "absent");
      }
    }
  }

  private static Mono<Void> sql(ConnectionFactory db, String sql) {
    return Mono.usingWhen(db.create(),
        c -> Flux.from(c.createStatement(sql).execute()).flatMap(r -> r.getRowsUpdated()).then(),
        Connection::close);
  }

  private static Mono<String> query(ConnectionFactory db, String sql) {
    return Mono.usingWhen(db.create(),
        c -> Flux.from(c.createStatement(sql).execute())
            .flatMap(r -> r.map((row, meta) -> String.valueOf(row.get(0, Integer.class))))
            .next(),
        Connection::close);
  }

  /**
   * A store whose {@code get} replies can be held in this JVM once Redis answered them: the
   * store read has run on the server, its caller has not heard. Works on a cluster too, where a
   * proxy would be bypassed by redirections.
   */
  static final class Holding extends ForwardingCacheStore {
    private volatile Sinks.Empty<Void> gate = Sinks.empty();
    private volatile boolean holding;
    private final java.util.concurrent.atomic.AtomicInteger held =
        new java.util.concurrent.atomic.AtomicInteger();

    Holding(CacheStore store) {
      super(store);
    }

    void hold() {
      gate = Sinks.empty();
      holding = true;
    }

    void release() {
      holding = false;
      gate.tryEmitEmpty();
    }

    int heldReplies() {
      return held.get();
    }

    @Override
    public Mono<byte[]> get(String key) {
      Mono<byte[]> read = super.get(key);
      if (!holding) {
        return read;
      }
      Sinks.Empty<Void> until = gate;
      return read.materialize().doOnNext(signal -> held.incrementAndGet())
          .delayUntil(signal -> until.asMono()).dematerialize();
    }
  }
}
