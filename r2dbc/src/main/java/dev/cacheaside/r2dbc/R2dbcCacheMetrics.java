package dev.cacheaside.r2dbc;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.binder.MeterBinder;
import java.util.Objects;
import java.util.function.Consumer;
import java.util.function.ToLongFunction;

/**
 * Publishes the counters of a {@link TransactionalWrites} or a {@link PgInvalidationListener} to
 * Micrometer (an optional dependency of this module). The meters read the live counters when
 * scraped.
 *
 * <pre>{@code
 * R2dbcCacheMetrics.of(writes).bindTo(registry);
 * R2dbcCacheMetrics.of(listener).bindTo(registry);
 * }</pre>
 *
 * <p>For transactional writes: {@code cache.tx.commits}, {@code cache.tx.rollbacks},
 * {@code cache.tx.invalidated.keys}, {@code cache.tx.invalidation.failures}. For a listener,
 * tagged {@code channel=<channel>}: {@code cache.pg.notifications} with {@code result} =
 * {@code handled} or {@code ignored}, {@code cache.pg.invalidated.keys},
 * {@code cache.pg.generation.bumps}, {@code cache.pg.reconnects},
 * {@code cache.pg.invalidation.failures}, and the gauge {@code cache.pg.listening} (1 while
 * listening, else 0). Alert on the failure counters: each is an invalidation that was lost.
 *
 * @since 0.1
 */
public final class R2dbcCacheMetrics implements MeterBinder {
  private final Consumer<MeterRegistry> binding;

  private R2dbcCacheMetrics(Consumer<MeterRegistry> binding) {
    this.binding = binding;
  }

  /** The meters of {@code writes}. */
  public static R2dbcCacheMetrics of(TransactionalWrites writes) {
    return of(writes, Tags.empty());
  }

  /** The meters of {@code writes}, tagged with {@code tags}. */
  public static R2dbcCacheMetrics of(TransactionalWrites writes, Iterable<Tag> tags) {
    Objects.requireNonNull(writes, "writes must not be null");
    Tags all = Tags.of(Objects.requireNonNull(tags, "tags must not be null"));
    return new R2dbcCacheMetrics(registry -> {
      counter(registry, "cache.tx.commits", all, writes, w -> w.stats().commits());
      counter(registry, "cache.tx.rollbacks", all, writes, w -> w.stats().rollbacks());
      counter(registry, "cache.tx.invalidated.keys", all, writes,
          w -> w.stats().keysInvalidated());
      counter(registry, "cache.tx.invalidation.failures", all, writes,
          w -> w.stats().invalidationFailures());
    });
  }

  /** The meters of {@code listener}, tagged with its channel. */
  public static R2dbcCacheMetrics of(PgInvalidationListener listener) {
    return of(listener, Tags.empty());
  }

  /** The meters of {@code listener}, tagged with its channel and {@code tags}. */
  public static R2dbcCacheMetrics of(PgInvalidationListener listener, Iterable<Tag> tags) {
    Objects.requireNonNull(listener, "listener must not be null");
    Tags all = Tags.of("channel", listener.channel())
        .and(Objects.requireNonNull(tags, "tags must not be null"));
    return new R2dbcCacheMetrics(registry -> {
      counter(registry, "cache.pg.notifications", all.and("result", "handled"), listener,
          l -> l.stats().notifications() - l.stats().ignoredNotifications());
      counter(registry, "cache.pg.notifications", all.and("result", "ignored"), listener,
          l -> l.stats().ignoredNotifications());
      counter(registry, "cache.pg.invalidated.keys", all, listener,
          l -> l.stats().keysInvalidated());
      counter(registry, "cache.pg.generation.bumps", all, listener,
          l -> l.stats().generationBumps());
      counter(registry, "cache.pg.reconnects", all, listener, l -> l.stats().reconnects());
      counter(registry, "cache.pg.invalidation.failures", all, listener,
          l -> l.stats().invalidationFailures());
      Gauge.builder("cache.pg.listening", listener, l -> l.isListening() ? 1 : 0)
          .tags(all).description("1 while the listener's LISTEN is active")
          .register(registry);
    });
  }

  @Override
  public void bindTo(MeterRegistry registry) {
    binding.accept(Objects.requireNonNull(registry, "registry must not be null"));
  }

  private static <T> void counter(MeterRegistry registry, String name, Tags tags, T source,
      ToLongFunction<T> read) {
    FunctionCounter.builder(name, source, s -> read.applyAsLong(s)).tags(tags).register(registry);
  }
}
