package dev.cacheaside.examples.catalog;

import static dev.cacheaside.examples.catalog.CatalogFixture.UNKNOWN;
import static dev.cacheaside.examples.catalog.CatalogFixture.body;
import static dev.cacheaside.examples.catalog.CatalogFixture.json;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.cacheaside.examples.Product;
import dev.cacheaside.testing.RealServers;
import io.lettuce.core.RedisClient;
import io.r2dbc.spi.ConnectionFactory;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * What every HTTP adapter of the {@link Catalog} must answer, over real HTTP, against a real Redis
 * and PostgreSQL: each subclass starts its server and sends the requests with its own client.
 */
@RealServers
public abstract class CatalogHttpContract {
  private final CatalogFixture fixture;

  protected CatalogHttpContract(RedisClient redis, ConnectionFactory db) {
    this.fixture = CatalogFixture.create(redis, db);
  }

  /** The catalog the subclass serves. */
  protected Catalog catalog() {
    return fixture.catalog();
  }

  /** Sends a request and waits for the whole response. */
  protected abstract Response send(String method, String path, @Nullable String jsonBody);

  /**
   * A response.
   *
   * @param status the HTTP status
   * @param contentType the {@code Content-Type}, "" if none
   * @param body the body as text, "" if none
   */
  public record Response(int status, String contentType, String body) {
    JsonNode json() {
      assertThat(contentType).as("content type of %s", body).startsWith("application/json");
      return CatalogFixture.json(body);
    }

    /** Checks that this is the error {@code error} with {@code status}; returns its message. */
    String problem(int expectedStatus, String error) {
      assertThat(status).as("status of %s", body).isEqualTo(expectedStatus);
      JsonNode json = json();
      assertThat(json.path("status").asInt()).isEqualTo(expectedStatus);
      assertThat(json.path("error").asText()).as("error code of %s", body).isEqualTo(error);
      return json.path("message").asText();
    }
  }

  @AfterEach
  void closeCatalog() {
    fixture.close(); // after the subclass's @AfterEach stopped its server
  }

  private Response get(String path) {
    return send("GET", path, null);
  }

  @Test
  protected void getOne_existing_returnsTheProduct() {
    for (int i = 0; i < 2; i++) { // a miss, then a hit: the same answer
      Response response = get("/products/42");
      assertThat(response.status()).isEqualTo(200);
      assertThat(response.json()).isEqualTo(json(ProductTable.seeded(42)));
    }
  }

  @Test
  protected void getOne_unknown_is404() {
    assertThat(get("/products/" + UNKNOWN).problem(404, "not_found"))
        .isEqualTo("no product " + UNKNOWN);
  }

  @Test
  protected void getOne_badId_is400NamingIt() {
    for (String bad : List.of("abc", "-1", "0", "1.5", "1e3", "12345678901234567890")) {
      assertThat(get("/products/" + bad).problem(400, "invalid_id"))
          .as("id %s", bad)
          .isEqualTo("id must be a positive integer, got \"" + bad + "\"");
    }
  }

  @Test
  protected void getMany_answersFoundInRequestOrderAndListsMissing() {
    Response response = get("/products?ids=3,1," + UNKNOWN + ",2,1");

    assertThat(response.status()).isEqualTo(200);
    JsonNode json = response.json();
    assertThat(json.get("products")).containsExactly(json(ProductTable.seeded(3)),
        json(ProductTable.seeded(1)), json(ProductTable.seeded(2)));
    assertThat(json.get("missing")).containsExactly(json(String.valueOf(UNKNOWN)));
  }

  @Test
  protected void getMany_withoutIds_is400() {
    assertThat(get("/products").problem(400, "missing_ids")).contains("ids is required");
    assertThat(get("/products?ids=").problem(400, "missing_ids")).contains("at least one id");
  }

  @Test
  protected void getMany_tooManyIds_is400() {
    String ids = IntStream.rangeClosed(1, Catalog.MAX_IDS + 1).mapToObj(Integer::toString)
        .collect(Collectors.joining(","));

    assertThat(get("/products?ids=" + ids).problem(400, "too_many_ids"))
        .isEqualTo("at most 100 ids per request, got 101");
  }

  @Test
  protected void getMany_badId_is400NamingIt() {
    assertThat(get("/products?ids=1,x,3").problem(400, "invalid_id"))
        .isEqualTo("ids[1] must be a positive integer, got \"x\"");
    assertThat(get("/products?ids=1,,3").problem(400, "invalid_id"))
        .isEqualTo("ids[1] must be a positive integer, got \"\"");
  }

  @Test
  protected void put_thenGet_returnsTheNewValue() {
    assertThat(get("/products/7").json()).isEqualTo(json(ProductTable.seeded(7))); // cached
    for (int round = 1; round <= 3; round++) {
      Product updated = new Product(7, "Kettle v" + round, 1000 + round);

      Response put = send("PUT", "/products/7", body(updated.name(), updated.priceCents()));
      Response read = get("/products/7");
      Response many = get("/products?ids=7");

      assertThat(put.status()).isEqualTo(200);
      assertThat(put.json()).isEqualTo(json(updated));
      assertThat(read.json()).as("GET after PUT, round %d", round).isEqualTo(json(updated));
      assertThat(many.json().get("products")).containsExactly(json(updated));
    }
  }

  @Test
  protected void put_withMatchingBodyId_updates() {
    Response put = send("PUT", "/products/8", "{\"id\":8,\"name\":\"Lamp\",\"priceCents\":0}");

    assertThat(put.status()).isEqualTo(200);
    assertThat(get("/products/8").json()).isEqualTo(json(new Product(8, "Lamp", 0)));
  }

  @Test
  protected void put_unknownProduct_is404() {
    assertThat(send("PUT", "/products/" + UNKNOWN, body("Ghost", 1)).problem(404, "not_found"))
        .isEqualTo("no product " + UNKNOWN);
    assertThat(get("/products/" + UNKNOWN).status()).isEqualTo(404);
  }

  @Test
  protected void put_badBody_is400NamingEachProblem_andChangesNothing() {
    Map<String, String> malformed = Map.of(
        "{\"name\":", "request body is not valid JSON",
        "{\"name\":\"a\",\"priceCents\":1} x", "request body is not valid JSON",
        "{\"name\":\"a\",\"name\":\"b\",\"priceCents\":1}", "Duplicate field 'name'");
    malformed.forEach((bad, expected) ->
        assertThat(send("PUT", "/products/9", bad).problem(400, "malformed_json"))
            .as("body %s", bad).contains(expected));
    Map<String, String> invalid = Map.of(
        "", "request body is required: {\"name\": \"...\", \"priceCents\": 123}",
        "[1,2]", "request body must be a JSON object, got array",
        "{}", "name is required; priceCents is required",
        "{\"id\":10,\"name\":\"a\",\"priceCents\":1}", "body id 10 does not match path id 9",
        "{\"name\":\" \",\"priceCents\":-1}", "name must not be blank; priceCents must be >= 0",
        "{\"name\":5,\"priceCents\":\"12\"}", "name must be a string; priceCents must be an integer",
        "{\"name\":\"a\",\"priceCents\":1,\"colour\":\"red\"}",
        "unknown field \"colour\" (allowed: id, name, priceCents)");
    invalid.forEach((bad, expected) ->
        assertThat(send("PUT", "/products/9", bad).problem(400, "invalid_body"))
            .as("body %s", bad).isEqualTo(expected));

    assertThat(get("/products/9").json()).isEqualTo(json(ProductTable.seeded(9)));
  }

  @Test
  protected void put_badId_is400() {
    assertThat(send("PUT", "/products/abc", body("a", 1)).problem(400, "invalid_id"))
        .isEqualTo("id must be a positive integer, got \"abc\"");
  }

  @Test
  protected void put_tooLargeBody_is413() {
    String name = "x".repeat(Catalog.MAX_BODY_BYTES);

    assertThat(send("PUT", "/products/9", body(name, 1)).problem(413, "body_too_large"))
        .contains("larger than " + Catalog.MAX_BODY_BYTES);
  }

  @Test
  protected void metrics_afterReadsAndWrites_listTheCacheMeters() {
    get("/products/1");
    get("/products/1");
    get("/products?ids=1,2");
    send("PUT", "/products/2", body("b", 2));

    Response metrics = get("/metrics");

    assertThat(metrics.status()).isEqualTo(200);
    assertThat(metrics.contentType()).startsWith("text/plain");
    assertThat(metrics.body())
        .contains("cache_gets_total{cache=\"products\",result=\"hit\"}")
        .contains("cache_gets_total{cache=\"products\",result=\"miss\"}")
        .contains("cache_loads_total{cache=\"products\",result=\"success\"}")
        .contains("cache_tx_commits_total 1.0")
        .contains("cache_load_bulkhead_waited_total")
        .contains("resilience4j_circuitbreaker_state");
  }

  @Test
  protected void unknownRoutes_are404Or405() {
    assertThat(send("DELETE", "/products/1", null).problem(405, "method_not_allowed"))
        .startsWith("DELETE /products/1 is not supported; routes: GET /products/{id}");
    assertThat(get("/nowhere").problem(404, "no_route"))
        .startsWith("no route for GET /nowhere; routes: ");
  }
}
