package dev.cacheaside.examples.batch;

import dev.cacheaside.core.BulkLoader;
import dev.cacheaside.core.BulkResult;
import dev.cacheaside.core.CacheAside;
import dev.cacheaside.core.spi.CacheStore;
import dev.cacheaside.core.JsonCodec;
import dev.cacheaside.examples.Product;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.LongAdder;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * Enriches a stream of order lines with product data through
 * {@link CacheAside#cacheAsideAll}: the lines are cut into batches, each batch's distinct product
 * ids are read with one cache multi-get and, for the ids the cache misses, one database query.
 * Memory stays bounded by the batch size however long the stream is.
 *
 * <pre>{@code
 * OrderEnrichment job = new OrderEnrichment(OrderEnrichment.cache("orders", store, 1_000),
 *     ProductTable.byIds(pool), 1_000);
 * job.enrich(orderLines)                      // Flux<OrderLine> in, Flux<EnrichedLine> out
 *     .map(EnrichedLine::totalCents)
 *     .reduce(0L, Long::sum);
 * System.out.println(job.queries() + " database queries");
 * }</pre>
 *
 * <p>Database queries: a batch whose ids all hit the cache needs none; one with misses needs
 * {@code ceil(misses / bulkMaxLoadChunk)}, which is one when the cache's window and load chunk are
 * at least the batch size (as {@link #cache} sets them). Every distinct product is loaded once over
 * the whole stream, since later batches find it in the cache (or find that it does not exist: a
 * cached "not found").
 */
public final class OrderEnrichment {
  private final CacheAside<Long, Product> products;
  private final BulkLoader<Long, Product> loader;
  private final int batchLines;
  private final LongAdder queries = new LongAdder();
  private final LongAdder keysLoaded = new LongAdder();

  /**
   * A job that reads products through {@code products}, loading misses with {@code byIds}, in
   * batches of {@code batchLines} lines.
   *
   * @throws IllegalArgumentException if {@code batchLines} is not positive
   */
  public OrderEnrichment(CacheAside<Long, Product> products, BulkLoader<Long, Product> byIds,
      int batchLines) {
    this.products = Objects.requireNonNull(products, "products must not be null");
    Objects.requireNonNull(byIds, "byIds must not be null");
    if (batchLines <= 0) {
      throw new IllegalArgumentException("batchLines must be positive, was " + batchLines);
    }
    this.batchLines = batchLines;
    // Counts the queries the cache could not spare us: one per call, at subscription.
    this.loader = keys -> Mono.defer(() -> {
      queries.increment();
      keysLoaded.add(keys.size());
      return byIds.load(keys);
    });
  }

  /**
   * A product cache fit for batches of {@code batchLines} lines: its window and load chunk hold a
   * whole batch, so a batch is one multi-get and at most one query, and its window waits up to
   * 100 ms for a batch's ids (they come at once; the time only bounds a slow stream).
   */
  public static CacheAside<Long, Product> cache(String name, CacheStore store, int batchLines) {
    return CacheAside.<Long, Product>builder(name)
        .store(store)
        .codec(JsonCodec.of(Product.class))
        .ttl(Duration.ofMinutes(10)).ttlJitter(0.10)
        .bulkWindow(batchLines, Duration.ofMillis(100))
        .bulkMaxLoadChunk(batchLines)
        .build();
  }

  /**
   * Enriches {@code lines}, in order, one {@link EnrichedLine} per line; a line whose product does
   * not exist gets none ({@link EnrichedLine#product()} is null).
   *
   * <p>Nothing happens until subscription. Batches are read one after the other, each once the
   * previous one is emitted, so demand from downstream paces the reads. Errors with the error of
   * a failed product load (the lines of that batch are not emitted) or of {@code lines}.
   */
  public Flux<EnrichedLine> enrich(Flux<OrderLine> lines) {
    return lines.buffer(batchLines).concatMap(this::enrichBatch, 1);
  }

  private Flux<EnrichedLine> enrichBatch(List<OrderLine> batch) {
    Set<Long> ids = new LinkedHashSet<>();
    for (OrderLine line : batch) {
      ids.add(line.productId());
    }
    return products.cacheAsideAll(Flux.fromIterable(ids), loader)
        .collectMap(BulkResult::key)
        .flatMapIterable(results -> enriched(batch, results));
  }

  private static List<EnrichedLine> enriched(List<OrderLine> batch,
      Map<Long, BulkResult<Long, Product>> results) {
    List<EnrichedLine> out = new ArrayList<>(batch.size());
    for (OrderLine line : batch) {
      BulkResult<Long, Product> result = Objects.requireNonNull(results.get(line.productId()),
          "no result for a requested id");
      Throwable error = result.error();
      if (error != null) {
        throw new IllegalStateException("loading product " + line.productId() + " of order "
            + line.orderId() + " failed", error);
      }
      out.add(new EnrichedLine(line, result.value()));
    }
    return out;
  }

  /** The database queries made so far (calls of the bulk loader). */
  public long queries() {
    return queries.sum();
  }

  /** The product ids loaded from the database so far, over all queries. */
  public long keysLoaded() {
    return keysLoaded.sum();
  }

  /**
   * {@code count} order lines over product ids {@code 1..productIds}, skewed as real orders are:
   * id {@code 1 + floor(productIds × u³)} for a uniform {@code u}, so half the lines name the
   * lowest eighth of the ids. Five lines per order, quantities 1 to 5. The same {@code seed} gives
   * the same lines.
   */
  public static Flux<OrderLine> sampleLines(int count, int productIds, long seed) {
    return Flux.defer(() -> {
      SplittableRandom random = new SplittableRandom(seed);
      return Flux.range(0, count).map(i -> {
        double u = random.nextDouble();
        long productId = 1 + (long) (productIds * u * u * u);
        return new OrderLine(1 + i / 5, productId, 1 + random.nextInt(5));
      });
    });
  }

  /**
   * A line of an order.
   *
   * @param orderId the order
   * @param productId the product ordered
   * @param quantity how many
   */
  public record OrderLine(long orderId, long productId, int quantity) {}

  /**
   * An order line with its product.
   *
   * @param line the line
   * @param product its product; null when the catalog does not have it
   */
  public record EnrichedLine(OrderLine line, @Nullable Product product) {
    /** Quantity × price; 0 for an unknown product. */
    public long totalCents() {
      return product == null ? 0 : product.priceCents() * line.quantity();
    }
  }
}
