package dev.cacheaside.r2dbc;

import dev.cacheaside.core.CacheAside;
import dev.cacheaside.core.spi.CacheStore;
import dev.cacheaside.core.Codec;
import dev.cacheaside.redis.RedisCacheStore;
import io.lettuce.core.RedisClient;
import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.Row;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.function.Supplier;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/** The test table {@code product(id, name, price)}, its loaders and caches, and small helpers. */
final class Products {
  static final String BY_ID = "SELECT id, name, price FROM product WHERE id = $1";
  static final String BY_IDS = "SELECT id, name, price FROM product WHERE id = ANY($1)";
  static final Duration TIMEOUT = Duration.ofSeconds(30);

  private Products() {}

  /** A row of the test table. */
  record Product(long id, String name, long price) {
    static Product fromRow(Row row) {
      return new Product(row.get("id", Long.class), row.get("name", String.class),
          row.get("price", Long.class));
    }
  }

  /** {@code id|price|name}. */
  static final Codec<Product> CODEC = new Codec<>() {
    @Override
    public byte[] encode(Product p) {
      return (p.id() + "|" + p.price() + "|" + p.name()).getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public Product decode(byte[] bytes) {
      String[] parts = new String(bytes, StandardCharsets.UTF_8).split("\\|", 3);
      return new Product(Long.parseLong(parts[0]), parts[2], Long.parseLong(parts[1]));
    }
  };

  /** Creates the table with rows 1..{@code rows}: name {@code p<id>}, price {@code id * 100}. */
  static void create(ConnectionFactory db, int rows) {
    sql(db, "CREATE TABLE product (id bigint PRIMARY KEY, name text NOT NULL, price bigint NOT NULL)");
    if (rows > 0) {
      sql(db, "INSERT INTO product SELECT g, 'p' || g, g * 100 FROM generate_series(1, " + rows
          + ") g");
    }
  }

  /** Runs statements, one after the other, on one new connection, from the test's own thread. */
  static void sql(ConnectionFactory db, String... statements) {
    Mono.usingWhen(Mono.<Connection>from(db.create()),
            c -> Flux.fromArray(statements)
                .concatMap(s -> Flux.from(c.createStatement(s).execute())
                    .concatMap(r -> r.getRowsUpdated()))
                .then(),
            Connection::close)
        .block(TIMEOUT);
  }

  /** The first column of the first row of {@code query}, from the test's own thread. */
  static <T> T one(ConnectionFactory db, String query, Class<T> type) {
    return Mono.usingWhen(Mono.<Connection>from(db.create()),
            c -> Flux.from(c.createStatement(query).execute())
                .concatMap(r -> r.map((row, metadata) -> row.get(0, type)))
                .next(),
            Connection::close)
        .block(TIMEOUT);
  }

  /** A cache of products in {@code store}, with leases, a 10 minute TTL and a 10 minute negative TTL. */
  static CacheAside<Long, Product> cache(String name, CacheStore store) {
    return CacheAside.<Long, Product>builder(name)
        .store(store)
        .codec(CODEC)
        .ttl(Duration.ofMinutes(10))
        .negativeTtl(Duration.ofMinutes(10))
        .build();
  }

  static CacheAside<Long, Product> cache(String name, RedisClient redis) {
    return cache(name, RedisCacheStore.create(redis));
  }

  /** A cache that fails every call, for checks that never reach it; equal only to itself. */
  @SuppressWarnings("unchecked")
  static CacheAside<Long, Product> unusedCache() {
    return (CacheAside<Long, Product>) java.lang.reflect.Proxy.newProxyInstance(
        CacheAside.class.getClassLoader(), new Class<?>[] {CacheAside.class},
        (proxy, method, args) -> switch (method.getName()) {
          case "hashCode" -> System.identityHashCode(proxy);
          case "equals" -> proxy == args[0];
          case "toString" -> "unusedCache";
          default -> throw new UnsupportedOperationException("not called by these checks");
        });
  }

  /** A by-id loader over {@code db} that counts its calls. */
  static Function<Long, Mono<Product>> loader(ConnectionFactory db, AtomicInteger calls) {
    Function<Long, Mono<Product>> byId = R2dbcLoaders.byId(db, BY_ID, Product::fromRow);
    return id -> {
      calls.incrementAndGet();
      return byId.apply(id);
    };
  }

  /**
   * Polls {@code probe} every 10 ms until it emits, for at most {@code timeout}: bounded polling on
   * Reactor's timer, not a sleep.
   */
  static <T> T await(String what, Duration timeout, Supplier<Mono<T>> probe) {
    return Mono.defer(probe)
        .repeatWhenEmpty(attempts -> attempts.delayElements(Duration.ofMillis(10)))
        .timeout(timeout, Mono.error(() -> new AssertionError("timed out after "
            + timeout.toMillis() + " ms waiting for " + what)))
        .block();
  }

  /** Polls until {@code condition} holds. */
  static void await(String what, Duration timeout, java.util.function.BooleanSupplier condition) {
    await(what, timeout, () -> Mono.fromCallable(() -> condition.getAsBoolean() ? true : null));
  }

  static List<Long> ids(long from, long to) {
    return java.util.stream.LongStream.rangeClosed(from, to).boxed().toList();
  }
}
