package dev.cacheaside.examples.bench;

import dev.cacheaside.core.JsonCodec;
import dev.cacheaside.examples.Product;
import java.time.Duration;
import java.util.function.Function;
import reactor.core.publisher.Mono;

/**
 * One service instance's cache-aside of products, whichever way it is done (see
 * {@link Approach}), so the comparison drives every approach the same way. Instances of one
 * namespace share entries through Redis and nothing else, as separate services do.
 */
interface Contender extends AutoCloseable {
  /** Every approach stores the same JSON (the library adds its envelope around it). */
  JsonCodec<Product> CODEC = JsonCodec.of(Product.class);

  /** Every approach's entry TTL. */
  Duration TTL = Duration.ofHours(1);

  /** Product {@code id} from the cache, or from {@code loader} on a miss (and then cached). */
  Mono<Product> read(long id, Function<Long, Mono<Product>> loader);

  /** Runs {@code write} (the database is the source of truth), then removes {@code id} from the cache. */
  Mono<Void> writeThenInvalidate(long id, Mono<?> write);

  /** Closes this instance's Redis connections. */
  @Override
  void close();
}
