package dev.cacheaside.examples.webflux;

import dev.cacheaside.examples.catalog.Catalog;
import dev.cacheaside.examples.catalog.CatalogServer;
import java.util.List;
import java.util.Objects;
import org.springframework.core.io.buffer.DataBufferLimitException;
import org.springframework.http.MediaType;
import org.springframework.http.server.reactive.ReactorHttpHandlerAdapter;
import org.springframework.web.reactive.function.server.RequestPredicates;
import org.springframework.web.reactive.function.server.RouterFunction;
import org.springframework.web.reactive.function.server.RouterFunctions;
import org.springframework.web.reactive.function.server.ServerRequest;
import org.springframework.web.reactive.function.server.ServerResponse;
import reactor.core.publisher.Mono;
import reactor.netty.DisposableServer;
import reactor.netty.http.server.HttpServer;

/**
 * The catalog's routes as Spring WebFlux functional endpoints: the same {@link Catalog} methods as
 * {@link CatalogServer}'s, so the two answer alike, byte for byte.
 *
 * <pre>{@code
 * RouterFunction<ServerResponse> routes = CatalogRoutes.routes(catalog);
 * // in a Spring application: expose it as a @Bean; without Spring Boot:
 * DisposableServer server = CatalogRoutes.start(catalog, "127.0.0.1", 8080);
 * }</pre>
 */
public final class CatalogRoutes {
  private CatalogRoutes() {}

  /**
   * {@code GET /products/{id}}, {@code GET /products?ids=1,2,3}, {@code PUT /products/{id}},
   * {@code GET /metrics}, and a JSON 404 or 405 for anything else.
   */
  public static RouterFunction<ServerResponse> routes(Catalog catalog) {
    Objects.requireNonNull(catalog, "catalog must not be null");
    return RouterFunctions.route()
        .GET("/products/{id}", request -> reply(catalog.get(request.pathVariable("id"))))
        .GET("/products", request ->
            reply(catalog.getMany(request.queryParams().getOrDefault("ids", List.of()))))
        .PUT("/products/{id}", request -> reply(body(request)
            .flatMap(body -> catalog.put(request.pathVariable("id"), body))
            .onErrorResume(DataBufferLimitException.class,
                e -> Mono.just(catalog.bodyTooLarge()))))
        .GET("/metrics", request -> reply(catalog.metrics()))
        .route(RequestPredicates.all(), request ->
            reply(Mono.just(catalog.unknownRoute(request.method().name(), request.path()))))
        .build();
  }

  /**
   * Serves {@link #routes} on Reactor Netty at {@code host:port} (port 0: any free port), no
   * Spring Boot: the router becomes an {@code HttpHandler} adapted to {@link HttpServer}.
   */
  public static DisposableServer start(Catalog catalog, String host, int port) {
    ReactorHttpHandlerAdapter adapter =
        new ReactorHttpHandlerAdapter(RouterFunctions.toHttpHandler(routes(catalog)));
    return HttpServer.create().host(host).port(port).handle(adapter).bindNow();
  }

  /**
   * The catalog service with these routes on embedded Redis and PostgreSQL: as
   * {@link CatalogServer#main}.
   */
  public static void main(String[] args) {
    CatalogServer.launch(args, "Spring WebFlux", CatalogRoutes::start);
  }

  private static Mono<byte[]> body(ServerRequest request) {
    // Bytes, not a bound object: the catalog validates the JSON and names each problem.
    return request.bodyToMono(byte[].class).defaultIfEmpty(new byte[0]);
  }

  private static Mono<ServerResponse> reply(Mono<Catalog.Reply> reply) {
    return reply.flatMap(r -> ServerResponse.status(r.status())
        .contentType(MediaType.parseMediaType(r.contentType()))
        .bodyValue(r.body()));
  }
}
