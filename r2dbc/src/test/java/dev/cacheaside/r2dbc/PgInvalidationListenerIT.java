package dev.cacheaside.r2dbc;

import dev.cacheaside.core.InvalidationRetry;
import static dev.cacheaside.r2dbc.Products.TIMEOUT;
import static org.assertj.core.api.Assertions.assertThat;

import dev.cacheaside.core.CacheAside;
import dev.cacheaside.r2dbc.Products.Product;
import dev.cacheaside.redis.RedisCacheStore;
import dev.cacheaside.testing.RealServers;
import dev.cacheaside.testing.TestSchema;
import io.lettuce.core.RedisClient;
import io.r2dbc.postgresql.api.PostgresqlConnection;
import io.r2dbc.spi.ConnectionFactory;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.test.StepVerifier;

@RealServers
class PgInvalidationListenerIT {
  /** How long a change may take to reach the cache before the test fails: generous, never waited out when it works. */
  private static final Duration BOUND = Duration.ofSeconds(10);

  private final ConnectionFactory db;
  private final TestSchema schema;
  private final RedisClient redis;
  private final String channel;
  private final AtomicInteger loads = new AtomicInteger();
  private final Function<Long, Mono<Product>> loader;
  private final List<PgInvalidationListener> started = new CopyOnWriteArrayList<>();

  PgInvalidationListenerIT(ConnectionFactory db, TestSchema schema, RedisClient redis) {
    this.db = db;
    this.schema = schema;
    this.redis = redis;
    this.channel = "inv_" + schema.name();
    this.loader = Products.loader(db, loads);
  }

  @BeforeEach
  void seed() {
    Products.create(db, 10);
  }

  @AfterEach
  void stopListeners() {
    started.forEach(listener -> listener.stop().block(TIMEOUT));
  }

  private PgInvalidationListener.Builder listener(ConnectionFactory connections,
      CacheAside<Long, Product> products) {
    return PgInvalidationListener.builder(connections)
        .channel(channel)
        .table("product", "id", Long::valueOf, products);
  }

  private PgInvalidationListener start(PgInvalidationListener listener) {
    started.add(listener);
    listener.installTriggers().then(listener.start()).block(TIMEOUT);
    return listener;
  }

  private Optional<Product> read(CacheAside<Long, Product> cache, long id) {
    return cache.cacheAside(id, loader).blockOptional(TIMEOUT);
  }

  /** Waits until a read of {@code id} through the cache gives {@code expected}. */
  private void awaitRead(CacheAside<Long, Product> cache, long id, Optional<Product> expected) {
    Products.await("cache read of " + id + " to be " + expected, BOUND,
        () -> cache.cacheAside(id, loader).map(Optional::of).defaultIfEmpty(Optional.empty())
            .filter(expected::equals));
  }

  private long backendCount(int pid) {
    return Products.one(db, "SELECT count(*) FROM pg_stat_activity WHERE pid = " + pid, Long.class);
  }

  @Test
  void installTriggers_isIdempotent_andUninstallRemovesThem() {
    PgInvalidationListener listener = listener(db, Products.cache("pg-install", redis)).build();
    String triggers = "SELECT coalesce(string_agg(tgname, ',' ORDER BY tgname), '') FROM pg_trigger"
        + " WHERE tgrelid = 'product'::regclass AND NOT tgisinternal";

    listener.installTriggers().block(TIMEOUT);
    listener.installTriggers().block(TIMEOUT);
    assertThat(Products.one(db, triggers, String.class))
        .isEqualTo("cache_aside_id,cache_aside_id_truncate");

    PgNotifyTrigger.uninstall(db, "product", "id").block(TIMEOUT);
    assertThat(Products.one(db, triggers, String.class)).isEmpty();
  }

  @Test
  void install_onAMissingTableOrColumn_errorsNamingIt() {
    StepVerifier.create(PgNotifyTrigger.install(db, "no_such_table", "id", channel))
        .expectErrorSatisfies(e -> assertThat(e).isInstanceOf(IllegalArgumentException.class)
            .hasMessageContaining("no_such_table does not exist"))
        .verify(TIMEOUT);
    StepVerifier.create(PgNotifyTrigger.install(db, "product", "sku", channel))
        .expectErrorSatisfies(e -> assertThat(e).isInstanceOf(IllegalArgumentException.class)
            .hasMessageContaining("no column named sku"))
        .verify(TIMEOUT);
  }

  @Test
  void trigger_payload_namesSchemaTableColumnAndTheOldAndNewKey() {
    PgNotifyTrigger.install(db, "product", "id", channel).block(TIMEOUT);

    PostgresqlConnection listening = (PostgresqlConnection) Mono.from(db.create()).block(TIMEOUT);
    Mono<List<String>> received = listening.getNotifications().map(n -> n.getParameter()).take(3)
        .collectList().cache();
    received.subscribe();
    Sql.execute(listening, "LISTEN " + Sql.identifier(channel)).block(TIMEOUT);

    Products.sql(db, "UPDATE product SET price = 1 WHERE id = 1",
        "UPDATE product SET id = 11 WHERE id = 2",
        "DELETE FROM product WHERE id = 3");

    List<String> payloads = received.block(TIMEOUT);
    listening.close().block(TIMEOUT);
    String head = schema.name().length() + ":" + schema.name() + "7:product2:id";
    assertThat(payloads).containsExactly(head + "1:1", head + "1:22:11", head + "1:3");
  }

  @Test
  void update_fromAnotherConnection_invalidatesTheCachedKey() {
    CacheAside<Long, Product> products = Products.cache("pg-update", redis);
    PgInvalidationListener listener = start(listener(db, products).build());
    assertThat(read(products, 1)).contains(new Product(1, "p1", 100));

    Products.sql(db, "UPDATE product SET price = 150 WHERE id = 1");

    awaitRead(products, 1, Optional.of(new Product(1, "p1", 150)));
    assertThat(listener.stats().notifications()).isEqualTo(1);
    assertThat(listener.stats().keysInvalidated()).isEqualTo(1);
  }

  @Test
  void updateThatChangesTheKey_invalidatesTheOldAndTheNewKey() {
    CacheAside<Long, Product> products = Products.cache("pg-rekey", redis);
    start(listener(db, products).build());
    assertThat(read(products, 1)).isPresent();
    assertThat(read(products, 11)).as("cached as not found").isEmpty();

    Products.sql(db, "UPDATE product SET id = 11 WHERE id = 1");

    awaitRead(products, 11, Optional.of(new Product(11, "p1", 100)));
    awaitRead(products, 1, Optional.empty());
  }

  @Test
  void delete_makesTheKeyNotFound() {
    CacheAside<Long, Product> products = Products.cache("pg-delete", redis);
    start(listener(db, products).build());
    assertThat(read(products, 2)).isPresent();

    Products.sql(db, "DELETE FROM product WHERE id = 2");

    awaitRead(products, 2, Optional.empty());
    int loadsThen = loads.get();
    assertThat(read(products, 2)).isEmpty();
    assertThat(loads.get()).as("now a cached negative").isEqualTo(loadsThen);
  }

  @Test
  void insert_replacesACachedNotFound() {
    CacheAside<Long, Product> products = Products.cache("pg-insert", redis);
    start(listener(db, products).build());
    assertThat(read(products, 42)).isEmpty();

    Products.sql(db, "INSERT INTO product VALUES (42, 'p42', 4200)");

    awaitRead(products, 42, Optional.of(new Product(42, "p42", 4200)));
  }

  @Test
  void truncate_bumpsTheGeneration() {
    CacheAside<Long, Product> products = Products.cache("pg-truncate", redis);
    PgInvalidationListener listener = start(listener(db, products).build());
    assertThat(read(products, 1)).isPresent();

    Products.sql(db, "TRUNCATE product");

    awaitRead(products, 1, Optional.empty());
    assertThat(listener.stats().generationBumps()).isEqualTo(1);
  }

  @Test
  void rolledBackUpdate_notifiesNothing() {
    CacheAside<Long, Product> products = Products.cache("pg-rollback", redis);
    PgInvalidationListener listener = start(listener(db, products).build());
    read(products, 1);
    read(products, 2);

    Products.sql(db, "BEGIN", "UPDATE product SET price = 150 WHERE id = 1", "ROLLBACK");
    // Notifications arrive in commit order: once this later commit's is handled, the rolled-back
    // one would have been too.
    Products.sql(db, "UPDATE product SET price = 250 WHERE id = 2");
    awaitRead(products, 2, Optional.of(new Product(2, "p2", 250)));

    int loadsThen = loads.get();
    assertThat(read(products, 1)).contains(new Product(1, "p1", 100));
    assertThat(loads.get()).as("key 1 still cached").isEqualTo(loadsThen);
    assertThat(listener.stats().notifications()).isEqualTo(1);
  }

  @Test
  void connectionKilled_listenerReconnects_bumpsTheGeneration_andServesNothingStale() {
    GatedConnectionFactory gated = new GatedConnectionFactory(db);
    CacheAside<Long, Product> products = Products.cache("pg-killed", redis);
    PgInvalidationListener listener = start(listener(gated, products)
        .reconnectBackoff(Duration.ofMillis(10), Duration.ofMillis(50))
        .build());
    assertThat(read(products, 1)).contains(new Product(1, "p1", 100));
    int pid = listener.backendPid().orElseThrow();

    gated.close();
    assertThat(Products.one(db, "SELECT pg_terminate_backend(" + pid + ")", Boolean.class))
        .isTrue();
    Products.await("the listener to notice", BOUND, () -> !listener.isListening());
    Products.await("the listener to try to reconnect", BOUND, () -> gated.waiting.get() == 1);
    // While it is away, a write's notification is lost: the cache still has the old value.
    Products.sql(db, "UPDATE product SET price = 150 WHERE id = 1");
    assertThat(read(products, 1)).as("stale while the listener is away")
        .contains(new Product(1, "p1", 100));

    gated.open();
    Products.await("the listener to listen again", BOUND, () -> listener.stats().reconnects() == 1);

    assertThat(listener.stats().generationBumps()).isEqualTo(1);
    assertThat(read(products, 1)).as("no stale read once it listens again")
        .contains(new Product(1, "p1", 150));
    assertThat(listener.backendPid()).isPresent().isNotEqualTo(java.util.OptionalInt.of(pid));
    Products.sql(db, "UPDATE product SET price = 175 WHERE id = 1");
    awaitRead(products, 1, Optional.of(new Product(1, "p1", 175)));
  }

  @Test
  void startAndStop_areIdempotent_andStopClosesTheConnection() {
    CacheAside<Long, Product> products = Products.cache("pg-lifecycle", redis);
    PgInvalidationListener listener = listener(db, products).build();
    started.add(listener);
    listener.installTriggers().block(TIMEOUT);

    StepVerifier.create(listener.start()).verifyComplete();
    int pid = listener.backendPid().orElseThrow();
    StepVerifier.create(listener.start()).as("start again: already listening").verifyComplete();
    assertThat(listener.backendPid()).hasValue(pid);
    assertThat(backendCount(pid)).isEqualTo(1);

    StepVerifier.create(listener.stop()).verifyComplete();
    StepVerifier.create(listener.stop()).as("stop again: nothing to do").verifyComplete();
    assertThat(listener.isListening()).isFalse();
    Products.await("backend " + pid + " to end", BOUND, () -> backendCount(pid) == 0);

    StepVerifier.create(listener.start()).as("a stopped listener starts again").verifyComplete();
    read(products, 1);
    Products.sql(db, "UPDATE product SET price = 150 WHERE id = 1");
    awaitRead(products, 1, Optional.of(new Product(1, "p1", 150)));
  }

  @Test
  void startAndStopAtOnce_fromManyThreads_leaveOneOrNoConnection() {
    CacheAside<Long, Product> products = Products.cache("pg-concurrent", redis);
    GatedConnectionFactory counting = new GatedConnectionFactory(db);
    PgInvalidationListener listener = listener(counting, products).build();
    started.add(listener);

    Flux.range(0, 16)
        .flatMap(i -> listener.start().subscribeOn(reactor.core.scheduler.Schedulers.parallel()))
        .blockLast(TIMEOUT);
    assertThat(counting.created).as("one connection for all starts").hasValue(1);
    int pid = listener.backendPid().orElseThrow();

    Flux.range(0, 16)
        .flatMap(i -> listener.stop().subscribeOn(reactor.core.scheduler.Schedulers.parallel()))
        .blockLast(TIMEOUT);
    assertThat(listener.isListening()).isFalse();
    Products.await("backend " + pid + " to end", BOUND, () -> backendCount(pid) == 0);
  }

  @Test
  void firstConnectionFails_startErrors_andTheListenerCanBeStartedAgain() {
    GatedConnectionFactory failing = new GatedConnectionFactory(db);
    CacheAside<Long, Product> products = Products.cache("pg-start-fails", redis);
    PgInvalidationListener listener = listener(failing, products).build();
    started.add(listener);
    failing.failNext.set(1);

    StepVerifier.create(listener.start())
        .expectErrorMessage("injected: the database is unreachable")
        .verify(TIMEOUT);
    assertThat(listener.isListening()).isFalse();

    StepVerifier.create(listener.start()).verifyComplete();
    assertThat(listener.isListening()).isTrue();
  }

  @Test
  void notificationsNotOurs_areIgnored() {
    CacheAside<Long, Product> products = Products.cache("pg-foreign", redis);
    PgInvalidationListener listener = start(listener(db, products).build());

    Products.sql(db, "SELECT pg_notify('" + channel + "', 'hello')",
        "SELECT pg_notify('" + channel + "', '" + new NotifyPayload(schema.name(), "other", "id",
            List.of("1")).format() + "')",
        "SELECT pg_notify('" + channel + "', '" + new NotifyPayload(schema.name(), "product",
            "sku", List.of("1")).format() + "')");

    Products.await("three ignored notifications", BOUND,
        () -> listener.stats().ignoredNotifications() == 3);
    assertThat(listener.stats().notifications()).isEqualTo(3);
  }

  @Test
  void schemaQualifiedRegistration_matchesOnlyItsSchema() {
    CacheAside<Long, Product> products = Products.cache("pg-qualified", redis);
    PgInvalidationListener listener = start(PgInvalidationListener.builder(db).channel(channel)
        .table(schema.name() + ".product", "id", Long::valueOf, products).build());
    read(products, 1);

    Products.sql(db, "SELECT pg_notify('" + channel + "', '" + new NotifyPayload("elsewhere",
        "product", "id", List.of("1")).format() + "')");
    Products.sql(db, "UPDATE product SET price = 150 WHERE id = 1");

    awaitRead(products, 1, Optional.of(new Product(1, "p1", 150)));
    assertThat(listener.stats().ignoredNotifications()).isEqualTo(1);
  }

  @Test
  void invalidationKeepsFailing_isRetried_thenReported() {
    FailingDeletes store = new FailingDeletes(RedisCacheStore.create(redis));
    CacheAside<Long, Product> products = Products.cache("pg-failing", store);
    List<InvalidationFailure> reported = new CopyOnWriteArrayList<>();
    PgInvalidationListener listener = start(listener(db, products)
        .invalidationPolicy(new InvalidationPolicy(
            new InvalidationRetry(2, Duration.ofMillis(1), Duration.ofMillis(5)), reported::add))
        .build());
    store.failures.set(Integer.MAX_VALUE);

    Products.sql(db, "UPDATE product SET price = 150 WHERE id = 1");

    Products.await("the failure to be reported", BOUND, () -> reported.size() == 1);
    assertThat(store.attempts).hasValue(3);
    assertThat(reported.get(0).keys()).isEqualTo(List.of(1L));
    assertThat(listener.stats().invalidationFailures()).isEqualTo(1);
  }

  @Test
  void keyTheParserRejects_bumpsTheGenerationInstead() {
    CacheAside<Long, Product> products = Products.cache("pg-bad-key", redis);
    PgInvalidationListener listener = start(PgInvalidationListener.builder(db).channel(channel)
        .table("product", "name", name -> Long.valueOf(name.substring(1)) * -1, products)
        .table("product", "id", text -> {
          throw new IllegalArgumentException("not a key: " + text);
        }, products)
        .build());
    assertThat(read(products, 3)).isPresent();

    Products.sql(db, "UPDATE product SET price = 1 WHERE id = 3");

    awaitRead(products, 3, Optional.of(new Product(3, "p3", 1)));
    assertThat(listener.stats().generationBumps()).isEqualTo(1);
    assertThat(listener.stats().keysInvalidated()).as("-3, by name").isEqualTo(1);
  }
}
