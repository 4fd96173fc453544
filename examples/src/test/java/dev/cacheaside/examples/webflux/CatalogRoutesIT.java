package dev.cacheaside.examples.webflux;

import static dev.cacheaside.examples.catalog.CatalogFixture.TIMEOUT;

import dev.cacheaside.examples.catalog.CatalogHttpContract;
import io.lettuce.core.RedisClient;
import io.r2dbc.spi.ConnectionFactory;
import java.util.Objects;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterEach;
import org.springframework.http.HttpMethod;
import org.springframework.http.MediaType;
import org.springframework.test.web.reactive.server.EntityExchangeResult;
import org.springframework.test.web.reactive.server.WebTestClient;
import reactor.netty.DisposableServer;

/**
 * The WebFlux functional endpoints on Reactor Netty, driven over HTTP by {@link WebTestClient}:
 * the same cases as the Reactor Netty service, since both adapters must answer alike.
 */
class CatalogRoutesIT extends CatalogHttpContract {
  private final DisposableServer server;
  private final WebTestClient client;

  CatalogRoutesIT(RedisClient redis, ConnectionFactory db) {
    super(redis, db);
    this.server = CatalogRoutes.start(catalog(), "127.0.0.1", 0);
    this.client = WebTestClient.bindToServer()
        .baseUrl("http://127.0.0.1:" + server.port())
        .responseTimeout(TIMEOUT)
        .build();
  }

  @AfterEach
  void stopServer() {
    server.disposeNow(TIMEOUT);
  }

  @Override
  protected Response send(String method, String path, @Nullable String jsonBody) {
    WebTestClient.RequestBodySpec request = client.method(HttpMethod.valueOf(method)).uri(path);
    WebTestClient.RequestHeadersSpec<?> ready = jsonBody == null ? request
        : request.contentType(MediaType.APPLICATION_JSON).bodyValue(jsonBody);
    EntityExchangeResult<String> result = ready.exchange().expectBody(String.class).returnResult();
    MediaType type = result.getResponseHeaders().getContentType();
    return new Response(result.getStatus().value(), type == null ? "" : type.toString(),
        Objects.requireNonNullElse(result.getResponseBody(), ""));
  }
}
