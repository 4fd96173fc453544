package dev.cacheaside.examples.catalog;

import dev.cacheaside.core.WarmProgress;
import dev.cacheaside.testing.TestPostgres;
import dev.cacheaside.testing.TestRedis;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.r2dbc.spi.ConnectionFactory;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Mono;
import reactor.netty.DisposableServer;
import reactor.netty.http.server.HttpServer;
import reactor.netty.http.server.HttpServerRequest;
import reactor.netty.http.server.HttpServerResponse;

/**
 * The catalog over HTTP on Reactor Netty's {@link HttpServer}, no framework: each route hands the
 * request to {@link Catalog} and writes its {@link Catalog.Reply}.
 *
 * <pre>{@code
 * DisposableServer server = CatalogServer.start(catalog, "127.0.0.1", 8080);
 * }</pre>
 *
 * <p>Routes: {@code GET /products/{id}}, {@code GET /products?ids=1,2,3},
 * {@code PUT /products/{id}}, {@code GET /metrics}; anything else is a JSON 404 or 405.
 */
public final class CatalogServer {
  /** The port {@link #main} listens on unless told otherwise. */
  public static final int DEFAULT_PORT = 8080;
  /** The number of hottest products {@link #main} warms the cache with before it serves. */
  public static final int DEFAULT_WARM = 1_000;
  /** The number of products {@link #main} seeds. */
  public static final int DEFAULT_PRODUCTS = 1_000;

  private CatalogServer() {}

  /**
   * Starts serving {@code catalog} on {@code host:port} (port 0: any free port) and returns once
   * the server is bound.
   */
  public static DisposableServer start(Catalog catalog, String host, int port) {
    Objects.requireNonNull(catalog, "catalog must not be null");
    return HttpServer.create().host(host).port(port)
        .route(routes -> routes
            .get("/products/{id}", (request, response) ->
                send(response, catalog.get(param(request, "id"))))
            .get("/products", (request, response) ->
                send(response, catalog.getMany(queryParameter(request.uri(), "ids"))))
            .put("/products/{id}", (request, response) -> send(response, tooLarge(request)
                ? Mono.just(catalog.bodyTooLarge())
                : request.receive().aggregate().asByteArray()
                    .defaultIfEmpty(new byte[0])
                    .flatMap(body -> catalog.put(param(request, "id"), body))))
            .get("/metrics", (request, response) -> send(response, catalog.metrics()))
            .route(request -> true, (request, response) -> send(response,
                Mono.just(catalog.unknownRoute(request.method().name(), request.fullPath())))))
        .bindNow();
  }

  /**
   * Starts the catalog service on embedded Redis and PostgreSQL (or those named by
   * {@code CACHE_ASIDE_REDIS_URI} and {@code CACHE_ASIDE_PG_URL}), seeds the {@code products}
   * table, warms the cache with the {@value #DEFAULT_WARM} hottest products (system property
   * {@code catalog.warm}), and serves until the process is stopped. The port is the first
   * argument, else the system property {@code catalog.port}, else {@value #DEFAULT_PORT}; the
   * host is {@code catalog.host} (default {@code 127.0.0.1}).
   */
  public static void main(String[] args) {
    launch(args, "Reactor Netty", CatalogServer::start);
  }

  /**
   * What {@link #main} does, with the HTTP adapter as a parameter, so that other adapters'
   * {@code main} methods share it.
   *
   * @param flavour names the adapter in the banner
   * @param server starts the adapter on a catalog, host and port
   */
  public static void launch(String[] args, String flavour, Starter server) {
    int port = args.length > 0 ? Integer.parseInt(args[0])
        : Integer.getInteger("catalog.port", DEFAULT_PORT);
    String host = System.getProperty("catalog.host", "127.0.0.1");
    int count = Integer.getInteger("catalog.products", DEFAULT_PRODUCTS);

    TestRedis redis = TestRedis.get();
    TestPostgres postgres = TestPostgres.get();
    System.out.printf(Locale.ROOT, "redis %s at %s (%s)%n", redis.version(), redis.uri(),
        redis.managed() ? "embedded" : "from " + TestRedis.URI_ENV);
    System.out.printf(Locale.ROOT, "postgresql %s at %s:%d (%s)%n", postgres.version(),
        postgres.host(), postgres.port(),
        postgres.managed() ? "embedded" : "from " + TestPostgres.URL_ENV);
    ConnectionFactory pool = postgres.pool();
    Long inserted = ProductTable.createAndSeed(pool, count).block();
    System.out.printf(Locale.ROOT, "table products: ids 1..%d (%d rows inserted now)%n", count,
        inserted);

    Catalog catalog = Catalog.create(redis.client(), pool);
    // Warm before binding: the first requests after a deploy or a Redis flush are then hits, not
    // a burst of misses at the database.
    int hottest = Integer.getInteger("catalog.warm", DEFAULT_WARM);
    long warmStart = System.nanoTime();
    WarmProgress warmed = catalog.warm(ProductTable.hottest(pool, hottest)).block();
    System.out.printf(Locale.ROOT, "cache warmed with the %d hottest products in %d ms: %d"
            + " loaded, %d already cached, %d not found, %d failed%n", hottest,
        (System.nanoTime() - warmStart) / 1_000_000, warmed.warmed(), warmed.skipped(),
        warmed.notFound(), warmed.failed());
    DisposableServer disposable = server.start(catalog, host, port);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      disposable.disposeNow();
      catalog.close();
    }, "catalog-shutdown"));
    String url = "http://" + host + ":" + disposable.port();
    System.out.printf(Locale.ROOT, "%n%s catalog service at %s (Ctrl-C stops it)%n%n", flavour,
        url);
    System.out.println("  curl -s " + url + "/products/42");
    System.out.println("  curl -s '" + url + "/products?ids=1,2,3,999999'");
    System.out.println("  curl -s -X PUT -H 'Content-Type: application/json' -d '{\"name\":\"Blue"
        + " Kettle\",\"priceCents\":2599}' " + url + "/products/42");
    System.out.println("  curl -s " + url + "/products/abc        # 400 invalid_id");
    System.out.println("  curl -s " + url + "/metrics | grep '^cache_gets'");
    disposable.onDispose().block();
  }

  /** Starts an HTTP adapter for {@link #launch}. */
  @FunctionalInterface
  public interface Starter {
    /** Serves {@code catalog} on {@code host:port}; returns once bound. */
    DisposableServer start(Catalog catalog, String host, int port);
  }

  private static Publisher<Void> send(HttpServerResponse response, Mono<Catalog.Reply> reply) {
    return reply.flatMap(r -> response.status(r.status())
        .header(HttpHeaderNames.CONTENT_TYPE, r.contentType())
        .sendByteArray(Mono.just(r.body()))
        .then());
  }

  private static String param(HttpServerRequest request, CharSequence name) {
    String value = request.param(name);
    return value == null ? "" : QueryStringDecoder.decodeComponent(value);
  }

  /** Refuses a declared body over the limit before reading it; a chunked one is checked later. */
  private static boolean tooLarge(HttpServerRequest request) {
    String length = request.requestHeaders().get(HttpHeaderNames.CONTENT_LENGTH);
    try {
      return length != null && Long.parseLong(length.strip()) > Catalog.MAX_BODY_BYTES;
    } catch (NumberFormatException e) {
      return false; // Netty rejects a malformed Content-Length itself
    }
  }

  private static List<String> queryParameter(String uri, String name) {
    return new QueryStringDecoder(uri).parameters().getOrDefault(name, List.of());
  }
}
