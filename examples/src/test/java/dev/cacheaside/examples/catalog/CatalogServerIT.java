package dev.cacheaside.examples.catalog;

import static dev.cacheaside.examples.catalog.CatalogFixture.TIMEOUT;

import io.lettuce.core.RedisClient;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.r2dbc.spi.ConnectionFactory;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterEach;
import reactor.core.publisher.Mono;
import reactor.netty.ByteBufFlux;
import reactor.netty.DisposableServer;
import reactor.netty.http.client.HttpClient;

/** The Reactor Netty catalog service, driven over HTTP by Reactor Netty's {@link HttpClient}. */
class CatalogServerIT extends CatalogHttpContract {
  private final DisposableServer server;
  private final HttpClient client;

  CatalogServerIT(RedisClient redis, ConnectionFactory db) {
    super(redis, db);
    this.server = CatalogServer.start(catalog(), "127.0.0.1", 0);
    this.client = HttpClient.create().baseUrl("http://127.0.0.1:" + server.port());
  }

  @AfterEach
  void stopServer() {
    server.disposeNow(TIMEOUT);
  }

  @Override
  protected Response send(String method, String path, @Nullable String jsonBody) {
    return client
        .headers(headers -> {
          if (jsonBody != null) {
            headers.set(HttpHeaderNames.CONTENT_TYPE, "application/json");
          }
        })
        .request(HttpMethod.valueOf(method))
        .uri(path)
        .send(jsonBody == null ? Mono.empty() : ByteBufFlux.fromString(Mono.just(jsonBody)))
        .responseSingle((response, content) -> content.asString().defaultIfEmpty("")
            .map(text -> new Response(response.status().code(),
                response.responseHeaders().get(HttpHeaderNames.CONTENT_TYPE, ""), text)))
        .block(TIMEOUT);
  }
}
