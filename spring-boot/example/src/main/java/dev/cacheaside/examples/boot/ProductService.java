package dev.cacheaside.examples.boot;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.cache.annotation.CacheEvict;
import org.springframework.cache.annotation.Cacheable;
import org.springframework.stereotype.Service;
import org.springframework.transaction.annotation.Transactional;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * The catalog: reads through {@code @Cacheable} (the starter's cache manager, Redis), writes in a
 * transaction whose {@code @CacheEvict} runs after the commit.
 */
@Service
public class ProductService {
  private final ProductRepository repository;
  private final WriteHook hook;
  private final Duration loadDelay;
  private final LongAdder queries = new LongAdder();
  private final Map<Long, AtomicLong> queriesById = new ConcurrentHashMap<>();

  /** {@code catalog.load-delay} slows every load (for the stampede demonstration). */
  public ProductService(ProductRepository repository, WriteHook hook,
      @Value("${catalog.load-delay:0ms}") Duration loadDelay) {
    this.repository = repository;
    this.hook = hook;
    this.loadDelay = loadDelay;
  }

  /**
   * One product, or empty when there is none: one database query per id across every instance
   * sharing the Redis, however many requests ask at once; "not found" cached too.
   */
  @Cacheable("products")
  public Mono<Product> product(long id) {
    return Mono.defer(() -> {
      queries.increment();
      queriesById.computeIfAbsent(id, k -> new AtomicLong()).incrementAndGet();
      Mono<Product> query = repository.findById(id);
      return loadDelay.isZero() ? query : query.delayUntil(p -> Mono.delay(loadDelay));
    });
  }

  /** Products cheaper than {@code price}: a Flux, cached as one list. */
  @Cacheable("cheaper-than")
  public Flux<Product> cheaperThan(long price) {
    return Flux.defer(() -> {
      queries.increment();
      return repository.cheaperThan(price);
    });
  }

  /**
   * Updates a product in a transaction; its cache entry is evicted after the commit (never before:
   * a read in between would cache the old row for the whole TTL). Empty when there is no such
   * product.
   */
  @Transactional
  @CacheEvict(cacheNames = "products", key = "#id")
  public Mono<Product> update(long id, ProductUpdate update) {
    return repository.update(id, update.name(), update.priceCents())
        .filter(rows -> rows > 0)
        .flatMap(rows -> hook.beforeCommit(id))
        .then(repository.findById(id));
  }

  /** Database queries made by {@link #product} and {@link #cheaperThan} in this instance. */
  public long queries() {
    return queries.sum();
  }

  /** Database queries made by {@link #product} for {@code id} in this instance. */
  public long queries(long id) {
    AtomicLong count = queriesById.get(id);
    return count == null ? 0 : count.get();
  }
}
