package dev.cacheaside.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cacheaside.core.BulkLoader;
import dev.cacheaside.core.CacheAside;
import dev.cacheaside.core.CacheAsideBuilder;
import dev.cacheaside.core.Codec;
import dev.cacheaside.core.WarmOptions;
import dev.cacheaside.core.WarmProgress;
import dev.cacheaside.redis.RedisFixture.Topology;
import dev.cacheaside.testing.Poll;
import dev.cacheaside.testing.TestPostgres;
import dev.cacheaside.testing.TestSchema;
import io.lettuce.core.ScanArgs;
import io.lettuce.core.ScanIterator;
import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactory;
import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.test.StepVerifier;

/**
 * {@link CacheAside#warm} on a real Redis, loading from a real PostgreSQL: the cap on concurrent
 * queries (counted around each query), cached keys skipped, a write whose invalidation lands while
 * the warm holds the old row wins, and a cancelled warm leaves no lease in Redis.
 */
class WarmOnRedisIT {
  private static final Duration WAIT = Duration.ofSeconds(60);

  private RedisFixture redis;
  private TestSchema schema;
  private ConnectionFactory db;
  private final AtomicInteger inFlight = new AtomicInteger();
  private final AtomicInteger peak = new AtomicInteger();
  private final AtomicInteger queries = new AtomicInteger();

  @BeforeEach
  void open() {
    redis = Topology.STANDALONE.open();
    schema = TestPostgres.get().newSchema();
    db = schema.connectionFactory();
    execute("CREATE TABLE product (id int PRIMARY KEY, name text NOT NULL)");
    execute("INSERT INTO product SELECT g, 'product ' || g FROM generate_series(0, 2999) g");
  }

  @AfterEach
  void close() {
    schema.close();
    redis.close();
  }

  private CacheAsideBuilder<Integer, String> cache() {
    return CacheAside.<Integer, String>builder("warm").store(redis.store).codec(Codec.utf8())
        .bulkWindow(100, Duration.ofSeconds(1)).bulkMaxLoadChunk(50);
  }

  /** By ids from PostgreSQL, each query counted while it runs. */
  private final BulkLoader<Integer, String> byIds = BulkLoader.fromFlux(ids -> Flux.defer(() -> {
    queries.incrementAndGet();
    peak.accumulateAndGet(inFlight.incrementAndGet(), Math::max);
    // Counted down when the query's last row is read, before the rows travel on.
    return selectByIds(ids).doOnTerminate(inFlight::decrementAndGet)
        .doOnCancel(inFlight::decrementAndGet);
  }), name -> Integer.valueOf(name.substring("product ".length())));

  @Test
  void threeThousandKeys_oneThirdCached_queriesNeverAboveTheCap() {
    CacheAside<Integer, String> products = cache().build();
    products.cacheAsideAll(Flux.range(0, 1000), byIds).then().block(WAIT);
    queries.set(0);
    peak.set(0);

    WarmProgress done = products.warm(Flux.range(0, 3100), byIds,
        WarmOptions.defaults().withMaxConcurrentLoads(3)).last().block(WAIT);

    assertThat(done).isEqualTo(new WarmProgress(2000, 100, 1000, 0));
    assertThat(peak.get()).as("peak concurrent PostgreSQL queries").isBetween(1, 3);
    assertThat(queries).as("2,100 keys not cached, in chunks of 50").hasValue(42);
    assertThat(leases()).as("every lease used").isEmpty();
    assertThat(products.cacheAside(2500, k -> Mono.just("loaded again")).block(WAIT))
        .isEqualTo("product 2500");
  }

  @Test
  void writeWhileTheWarmHoldsTheOldRow_theWriteWins() {
    CacheAside<Integer, String> products = cache().build();
    Sinks.Empty<Void> read = Sinks.empty();
    Sinks.Empty<Void> resume = Sinks.empty();
    BulkLoader<Integer, String> heldAfterTheRead = keys -> byIds.load(keys)
        .doOnNext(rows -> read.tryEmitEmpty())
        .delayUntil(rows -> resume.asMono());
    StepVerifier warm = StepVerifier.create(products.warm(Flux.just(1, 2), heldAfterTheRead,
            WarmOptions.defaults()).last())
        .expectNext(new WarmProgress(2, 0, 0, 0)).expectComplete().verifyLater();
    read.asMono().block(WAIT);

    products.writeThenInvalidate(1, Mono.fromRunnable(
        () -> execute("UPDATE product SET name = 'product 1 renamed' WHERE id = 1"))).block(WAIT);
    resume.tryEmitEmpty();
    warm.verify(WAIT);

    assertThat(products.cacheAside(1, k -> selectByIds(Set.of(k)).next()).block(WAIT))
        .as("not the warm's old row").isEqualTo("product 1 renamed");
    assertThat(products.cacheAside(2, k -> Mono.just("loaded again")).block(WAIT))
        .isEqualTo("product 2");
    assertThat(leases()).isEmpty();
  }

  @Test
  void cancelledWarm_startedWindowFinishes_noLeaseLeftInRedis() {
    CacheAside<Integer, String> products = cache().build();
    Sinks.Empty<Void> resume = Sinks.empty();
    BulkLoader<Integer, String> held = keys -> byIds.load(keys).delayUntil(rows -> resume.asMono());
    Disposable warm = products.warm(Flux.range(0, 1000), held,
        WarmOptions.defaults().withMaxConcurrentLoads(1)).subscribe();
    Poll.until("the first window's leases", WAIT, () -> !leases().isEmpty());
    Poll.until("its query", WAIT, () -> queries.get() >= 1);

    warm.dispose();
    resume.tryEmitEmpty();
    Poll.until("the started window's end", WAIT, () -> products.stats().readsInFlight() == 0);

    assertThat(leases()).as("leases in Redis after the cancel").isEmpty();
    assertThat(queries.get()).as("one window of 100 keys, in chunks of 50").isEqualTo(2);
    AtomicInteger loads = new AtomicInteger();
    assertThat(products.cacheAside(5, k -> Mono.fromSupplier(() -> {
      loads.incrementAndGet();
      return "x";
    })).block(WAIT)).as("warmed by the started window").isEqualTo("product 5");
    assertThat(products.cacheAside(500, k -> Mono.just("not warmed")).block(WAIT))
        .as("a key of a window never started: no lease stands in its way").isEqualTo("not warmed");
    assertThat(loads).hasValue(0);
  }

  private Set<String> leases() {
    Set<String> leases = new HashSet<>();
    redis.servers().forEach(server -> ScanIterator.scan(server, ScanArgs.Builder.matches("ca:*:l"))
        .forEachRemaining(leases::add));
    return leases;
  }

  private Flux<String> selectByIds(Set<Integer> ids) {
    return Flux.usingWhen(db.create(),
        c -> Flux.from(c.createStatement("SELECT name FROM product WHERE id = ANY($1)")
                .bind("$1", ids.toArray(new Integer[0])).execute())
            .flatMap(result -> result.map((row, meta) -> row.get(0, String.class))),
        Connection::close);
  }

  private void execute(String sql) {
    Mono.usingWhen(db.create(),
            c -> Flux.from(c.createStatement(sql).execute()).flatMap(r -> r.getRowsUpdated()).then(),
            Connection::close)
        .block(WAIT);
  }
}
