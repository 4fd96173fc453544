package dev.cacheaside.examples.catalog;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.cacheaside.core.BulkOrder;
import dev.cacheaside.core.BulkResult;
import dev.cacheaside.core.CacheAside;
import dev.cacheaside.core.WarmOptions;
import dev.cacheaside.core.WarmProgress;
import dev.cacheaside.core.stats.CacheAsideMetrics;
import dev.cacheaside.core.spi.CacheStore;
import dev.cacheaside.core.JsonCodec;
import dev.cacheaside.examples.Product;
import dev.cacheaside.r2dbc.R2dbcBulkLoader;
import dev.cacheaside.r2dbc.R2dbcCacheMetrics;
import dev.cacheaside.r2dbc.TransactionalWrites;
import dev.cacheaside.redis.RedisCacheStore;
import dev.cacheaside.resilience.LoadBulkhead;
import dev.cacheaside.resilience.ResilienceMetrics;
import dev.cacheaside.resilience.ResilientCacheStore;
import io.github.resilience4j.bulkhead.BulkheadFullException;
import io.lettuce.core.RedisClient;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.R2dbcException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.regex.Pattern;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;
import reactor.util.Logger;
import reactor.util.Loggers;

/**
 * The product catalog without HTTP: the cache in front of the {@code products} table, the
 * validation of ids and bodies, and the JSON of every answer. Both HTTP adapters
 * ({@link CatalogServer} on Reactor Netty, {@code dev.cacheaside.examples.webflux.CatalogRoutes}
 * on Spring WebFlux) only route a request to one of its methods and write the {@link Reply} back.
 *
 * <pre>{@code
 * try (Catalog catalog = Catalog.create(redisClient, pool)) {
 *   Mono<Catalog.Reply> one  = catalog.get("42");                 // cacheAside
 *   Mono<Catalog.Reply> many = catalog.getMany(List.of("1,2,3"));  // cacheAsideAll
 *   Mono<Catalog.Reply> put  = catalog.put("42", bodyBytes);       // UPDATE, then invalidate
 * }
 * }</pre>
 *
 * <p>Answers ({@code application/json}): a product is {@code {"id":1,"name":"…","priceCents":123}};
 * {@code getMany} answers {@code {"products":[…],"missing":[ids]}} with the found products in
 * request order (each id once) and the ids the database does not have; an error is
 * {@code {"status":400,"error":"invalid_id","message":"…"}}, its {@code error} one of
 * {@code invalid_id}, {@code missing_ids}, {@code too_many_ids}, {@code malformed_json},
 * {@code invalid_body}, {@code body_too_large}, {@code not_found}, {@code no_route},
 * {@code method_not_allowed}, {@code unavailable}, {@code internal_error}. No method throws:
 * every problem is a reply.
 *
 * <p>The cache: Redis behind {@link ResilientCacheStore} (a slow or failed Redis turns reads into
 * database reads), values as JSON, TTL 10 min ± 10 %, "not found" cached for 30 s, values served
 * up to 1 min stale when the database fails, at most 16 concurrent loads
 * ({@link LoadBulkhead}). Writes run in a transaction through {@link TransactionalWrites}, which
 * invalidates the product after the commit, so a read that follows a {@code PUT} sees it.
 */
public final class Catalog implements AutoCloseable {
  /**
   * The most concurrent queries a {@link #warm} runs: a quarter of the load bulkhead, so traffic
   * that arrives while the cache warms still finds the database.
   */
  public static final int WARM_CONCURRENCY = 4;
  /** The most ids one {@link #getMany} request may ask for. */
  public static final int MAX_IDS = 100;
  /** The largest {@code PUT} body accepted, in bytes. */
  public static final int MAX_BODY_BYTES = 16 * 1024;
  /** The longest product name accepted, in characters. */
  public static final int MAX_NAME_LENGTH = 200;
  /** The content type of every reply but {@link #metrics()}'s. */
  public static final String JSON = "application/json";
  /** The content type of {@link #metrics()}: Prometheus text format 0.0.4. */
  public static final String PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8";

  private static final Logger LOG = Loggers.getLogger(Catalog.class);
  private static final Pattern DIGITS = Pattern.compile("[0-9]{1,18}");
  private static final Set<String> BODY_FIELDS = Set.of("id", "name", "priceCents");
  private static final String TOO_LARGE = "request body is larger than " + MAX_BODY_BYTES
      + " bytes";
  private static final String ROUTES = "GET /products/{id}, GET /products?ids=1,2,3, "
      + "PUT /products/{id}, GET /metrics";

  private final ResilientCacheStore store;
  private final CacheAside<Long, Product> products;
  private final Function<Long, Mono<Product>> byId;
  private final R2dbcBulkLoader<Long, Product> byIds;
  private final TransactionalWrites writes;
  private final PrometheusMeterRegistry registry;
  private final ObjectMapper json;

  private Catalog(CacheStore cacheStore, boolean ownsStore, ConnectionFactory db) {
    // Closing the resilient store flushes its owed invalidations, then closes the Redis store
    // when the catalog opened it.
    this.store = ResilientCacheStore.builder(cacheStore).ownsStore(ownsStore).build();
    LoadBulkhead bulkhead = LoadBulkhead.of("catalog-db", 16, Duration.ofSeconds(1));
    this.json = new ObjectMapper()
        .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
        .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
    this.products = CacheAside.<Long, Product>builder("products")
        .store(store)
        .codec(JsonCodec.of(Product.class, json))
        .ttl(Duration.ofMinutes(10)).ttlJitter(0.10)
        .negativeTtl(Duration.ofSeconds(30))
        .staleGrace(Duration.ofMinutes(1))
        .loadDecorator(bulkhead)
        .build();
    this.byId = ProductTable.byId(db);
    this.byIds = ProductTable.byIds(db);
    this.writes = TransactionalWrites.create(db);
    this.registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    CacheAsideMetrics.of(products).bindTo(registry);
    R2dbcCacheMetrics.of(writes).bindTo(registry);
    ResilienceMetrics.of(store).bindTo(registry);
    ResilienceMetrics.of(bulkhead).bindTo(registry);
    // Jackson introspects a type on its first use; do it here rather than on an event loop.
    encode(ProductTable.seeded(1));
    encode(new ProductList(List.of(), List.of()));
    encode(new Problem(400, "warm_up", ""));
  }

  /**
   * A catalog over Redis (a connection of its own, closed by {@link #close()}) and the
   * {@code products} table of {@code db} (a pool, ideally). Connects to Redis: call it at start-up,
   * not on an event loop.
   */
  public static Catalog create(RedisClient redis, ConnectionFactory db) {
    RedisCacheStore store = RedisCacheStore.create(Objects.requireNonNull(redis, "redis"));
    return new Catalog(store, true, Objects.requireNonNull(db, "db"));
  }

  /**
   * A catalog over any cache store (left open by {@link #close()}) and the {@code products}
   * table of {@code db}.
   */
  public static Catalog create(CacheStore store, ConnectionFactory db) {
    return new Catalog(Objects.requireNonNull(store, "store"), false,
        Objects.requireNonNull(db, "db"));
  }

  /** The cache of products, for inspection ({@code stats()}) and invalidation. */
  public CacheAside<Long, Product> products() {
    return products;
  }

  /**
   * Warms the cache with the products of {@code ids} (loaded in chunks through the bulk loader,
   * at most {@value #WARM_CONCURRENCY} queries at a time; products already cached are skipped),
   * logging progress every 250 keys. Emits the final counts; a failed chunk is counted, not an
   * error.
   */
  public Mono<WarmProgress> warm(Flux<Long> ids) {
    long[] logged = {0};
    return products.warm(ids, byIds, WarmOptions.defaults()
            .withMaxConcurrentLoads(WARM_CONCURRENCY))
        .doOnNext(progress -> {
          if (progress.keys() - logged[0] >= 250) {
            logged[0] = progress.keys();
            LOG.info("warming products: {} keys, {} warmed, {} skipped, {} failed",
                progress.keys(), progress.warmed(), progress.skipped(), progress.failed());
          }
        })
        .last();
  }

  /**
   * {@code GET /products/{id}}: the product through {@code cacheAside}. 200 with the product, 404
   * {@code not_found}, 400 {@code invalid_id} when {@code id} is not a positive integer.
   */
  public Mono<Reply> get(String id) {
    return answer(() -> {
      long key = parseId(id, "id");
      return products.cacheAside(key, byId)
          .map(product -> reply(200, product))
          .switchIfEmpty(Mono.fromSupplier(() -> notFound(key)));
    });
  }

  /**
   * {@code GET /products?ids=1,2,3}: many products through {@code cacheAsideAll}, one multi-get
   * and at most one query for the lot. {@code idsParameters} are the values of every {@code ids}
   * query parameter (decoded), each a comma-separated list. 200 with
   * {@code {"products":[…],"missing":[…]}}; 400 {@code missing_ids} without ids, 400
   * {@code too_many_ids} past {@link #MAX_IDS}, 400 {@code invalid_id} naming the first bad id.
   * Duplicate ids are answered once.
   */
  public Mono<Reply> getMany(List<String> idsParameters) {
    return answer(() -> {
      Set<Long> ids = parseIds(idsParameters);
      return products.cacheAsideAll(Flux.fromIterable(ids), byIds, BulkOrder.REQUEST)
          .collectList()
          .map(results -> {
            List<Product> found = new ArrayList<>();
            List<Long> missing = new ArrayList<>();
            for (BulkResult<Long, Product> result : results) {
              Throwable error = result.error();
              if (error != null) {
                throw new IllegalStateException("loading product " + result.key() + " failed",
                    error);
              }
              Product product = result.value();
              if (product != null) {
                found.add(product);
              } else {
                missing.add(result.key());
              }
            }
            return reply(200, new ProductList(found, missing));
          });
    });
  }

  /**
   * {@code PUT /products/{id}} with {@code {"name":"…","priceCents":123}} (an {@code "id"} may be
   * given and must then equal the path's): updates the row in a transaction and invalidates the
   * cached product after the commit. 200 with the product as stored; 404 {@code not_found} for an
   * unknown id (products are not created by {@code PUT}); 400 {@code invalid_id},
   * {@code malformed_json} or {@code invalid_body} naming every problem; 413
   * {@code body_too_large} past {@link #MAX_BODY_BYTES}.
   */
  public Mono<Reply> put(String id, byte[] body) {
    return answer(() -> {
      long key = parseId(id, "id");
      Product product = parseProduct(key, body);
      return writes.execute(products, key, connection -> ProductTable.update(connection, product))
          .map(stored -> reply(200, stored))
          .switchIfEmpty(Mono.fromSupplier(() -> notFound(key)));
    });
  }

  /** {@code GET /metrics}: every meter in Prometheus text format. */
  public Mono<Reply> metrics() {
    // A scrape walks every meter and may wait on the registry's locks: not on an event loop.
    return Mono.fromCallable(() -> new Reply(200, PROMETHEUS_TEXT,
            registry.scrape().getBytes(StandardCharsets.UTF_8)))
        .subscribeOn(Schedulers.boundedElastic());
  }

  /**
   * The reply to a request no route took: 405 {@code method_not_allowed} when {@code path} is one
   * of the catalog's with another method, else 404 {@code no_route}; both list the routes.
   */
  public Reply unknownRoute(String method, String path) {
    boolean known = path.equals("/products") || path.equals("/metrics")
        || path.matches("/products/[^/]+");
    return known
        ? problem(405, "method_not_allowed", method + " " + path + " is not supported; routes: "
            + ROUTES)
        : problem(404, "no_route", "no route for " + method + " " + path + "; routes: " + ROUTES);
  }

  /** The 413 reply, for adapters whose transport refuses a body before {@link #put} sees it. */
  public Reply bodyTooLarge() {
    return problem(413, "body_too_large", TOO_LARGE);
  }

  /**
   * Flushes the invalidations the cache store still owes (a few seconds at most), stops its
   * background work and closes the Redis connection it opened.
   */
  @Override
  public void close() {
    store.close();
    registry.close();
  }

  // ---------------------------------------------------------------------------------------------
  // Validation

  private static long parseId(String text, String what) {
    if (!DIGITS.matcher(text).matches() || Long.parseLong(text) == 0) {
      throw new BadRequest(400, "invalid_id", what + " must be a positive integer, got \""
          + shorten(text) + "\"");
    }
    return Long.parseLong(text);
  }

  private static Set<Long> parseIds(List<String> parameters) {
    if (parameters.isEmpty()) {
      throw new BadRequest(400, "missing_ids", "query parameter ids is required, e.g. "
          + "/products?ids=1,2,3");
    }
    List<String> texts = new ArrayList<>();
    for (String parameter : parameters) {
      for (String text : parameter.split(",", -1)) {
        texts.add(text.strip());
      }
    }
    if (texts.stream().allMatch(String::isEmpty)) {
      throw new BadRequest(400, "missing_ids", "ids must name at least one id, e.g. "
          + "/products?ids=1,2,3");
    }
    if (texts.size() > MAX_IDS) {
      throw new BadRequest(400, "too_many_ids", "at most " + MAX_IDS + " ids per request, got "
          + texts.size());
    }
    Set<Long> ids = new LinkedHashSet<>();
    for (int i = 0; i < texts.size(); i++) {
      ids.add(parseId(texts.get(i), "ids[" + i + "]"));
    }
    return ids;
  }

  private Product parseProduct(long id, byte[] body) {
    if (body.length > MAX_BODY_BYTES) {
      throw new BadRequest(413, "body_too_large", TOO_LARGE);
    }
    JsonNode tree;
    try {
      tree = json.readTree(body);
    } catch (JsonProcessingException e) {
      throw new BadRequest(400, "malformed_json", "request body is not valid JSON: "
          + e.getOriginalMessage() + " (line " + e.getLocation().getLineNr() + ", column "
          + e.getLocation().getColumnNr() + ")");
    } catch (IOException e) {
      throw new UncheckedIOException(e); // reading a byte array does no I/O
    }
    if (tree == null || tree.isMissingNode()) {
      throw new BadRequest(400, "invalid_body", "request body is required: "
          + "{\"name\": \"...\", \"priceCents\": 123}");
    }
    if (!tree.isObject()) {
      throw new BadRequest(400, "invalid_body", "request body must be a JSON object, got "
          + tree.getNodeType().toString().toLowerCase(Locale.ROOT));
    }
    List<String> problems = new ArrayList<>();
    for (Iterator<String> names = tree.fieldNames(); names.hasNext(); ) {
      String name = names.next();
      if (!BODY_FIELDS.contains(name)) {
        problems.add("unknown field \"" + shorten(name) + "\" (allowed: id, name, priceCents)");
      }
    }
    JsonNode bodyId = tree.get("id");
    if (bodyId != null && !bodyId.isNull()) {
      if (!bodyId.isIntegralNumber() || !bodyId.canConvertToLong()) {
        problems.add("id must be an integer");
      } else if (bodyId.longValue() != id) {
        problems.add("body id " + bodyId.longValue() + " does not match path id " + id);
      }
    }
    JsonNode name = tree.get("name");
    if (name == null || name.isNull()) {
      problems.add("name is required");
    } else if (!name.isTextual()) {
      problems.add("name must be a string");
    } else if (name.textValue().isBlank()) {
      problems.add("name must not be blank");
    } else if (name.textValue().length() > MAX_NAME_LENGTH) {
      problems.add("name must be at most " + MAX_NAME_LENGTH + " characters");
    }
    JsonNode price = tree.get("priceCents");
    if (price == null || price.isNull()) {
      problems.add("priceCents is required");
    } else if (!price.isIntegralNumber() || !price.canConvertToLong()) {
      problems.add("priceCents must be an integer");
    } else if (price.longValue() < 0) {
      problems.add("priceCents must be >= 0");
    }
    if (!problems.isEmpty()) {
      throw new BadRequest(400, "invalid_body", String.join("; ", problems));
    }
    return new Product(id, name.textValue(), price.longValue());
  }

  private static String shorten(String text) {
    return text.length() <= 40 ? text : text.substring(0, 40) + "...";
  }

  // ---------------------------------------------------------------------------------------------
  // Replies

  /** Runs {@code work} (which may throw) and turns every failure into its reply. */
  private Mono<Reply> answer(Supplier<Mono<Reply>> work) {
    return Mono.defer(work).onErrorResume(e -> Mono.just(e instanceof BadRequest bad
        ? problem(bad.status, bad.error, bad.getMessage())
        : failure(e)));
  }

  private Reply failure(Throwable error) {
    // getMany wraps a key's load error in an IllegalStateException naming the key.
    Throwable cause = error.getCause() != null && error instanceof IllegalStateException
        ? error.getCause() : error;
    // The driver's errors, timeouts, and the load bulkhead's refusal when it is full.
    if (cause instanceof R2dbcException || cause instanceof TimeoutException
        || cause instanceof BulkheadFullException) {
      LOG.warn("the database failed: {}", cause.toString());
      return problem(503, "unavailable", "the product database is unavailable, try again: "
          + cause.getMessage());
    }
    LOG.error("request failed", error);
    return problem(500, "internal_error", error.toString());
  }

  private Reply notFound(long id) {
    return problem(404, "not_found", "no product " + id);
  }

  private Reply problem(int status, String error, String message) {
    return reply(status, new Problem(status, error, message));
  }

  private Reply reply(int status, Object body) {
    return new Reply(status, JSON, encode(body));
  }

  private byte[] encode(Object body) {
    try {
      return json.writeValueAsBytes(body);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot write " + body.getClass().getName() + " as JSON", e);
    }
  }

  /**
   * An HTTP answer: status, content type and body. The body array is the reply's own; do not
   * change it.
   *
   * @param status the HTTP status
   * @param contentType the {@code Content-Type}
   * @param body the bytes to send
   */
  public record Reply(int status, String contentType, byte[] body) {
    /** The body as UTF-8 text. */
    public String text() {
      return new String(body, StandardCharsets.UTF_8);
    }

    @Override
    public String toString() {
      return "Reply[" + status + " " + contentType + " " + text() + "]";
    }
  }

  /**
   * The answer of {@code getMany}.
   *
   * @param products the products found, in request order, each once
   * @param missing the ids the database does not have
   */
  public record ProductList(List<Product> products, List<Long> missing) {}

  /**
   * An error's JSON body.
   *
   * @param status the HTTP status, repeated for clients that only see the body
   * @param error a stable code to branch on
   * @param message what was wrong, for a person
   */
  public record Problem(int status, String error, String message) {}

  /** A request the catalog refuses. No stack trace: it is an answer, not a bug. */
  private static final class BadRequest extends RuntimeException {
    private final int status;
    private final String error;

    BadRequest(int status, String error, String message) {
      super(message, null, false, false);
      this.status = status;
      this.error = error;
    }
  }
}
