package dev.cacheaside.examples.boot;

import org.springframework.data.r2dbc.repository.Modifying;
import org.springframework.data.r2dbc.repository.Query;
import org.springframework.data.repository.reactive.ReactiveCrudRepository;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/** Spring Data R2DBC: the products in PostgreSQL. */
public interface ProductRepository extends ReactiveCrudRepository<Product, Long> {

  /** Changes a product's name and price; emits the rows updated (0 or 1). */
  @Modifying
  @Query("UPDATE product SET name = :name, price_cents = :price WHERE id = :id")
  Mono<Integer> update(long id, String name, long price);

  /** Products cheaper than {@code price}, cheapest first. */
  @Query("SELECT * FROM product WHERE price_cents < :price ORDER BY price_cents, id LIMIT 20")
  Flux<Product> cheaperThan(long price);
}
