package dev.cacheaside.core;

import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.LongAdder;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * Warming: the bulk read's windows ({@link BulkRead#windows}, {@link BulkWindow}, so hits, flights,
 * leases and compare-and-set stores are exactly a bulk read's), with three differences. The
 * loader runs behind {@link LoadPermits} (at most {@code maxConcurrentLoads} calls, however many
 * chunks, refreshes and give-ups the windows make); the key stream is paced to
 * {@code maxKeysPerSecond}; and the answers are tallied into {@link WarmProgress} instead of being
 * emitted, and not counted as the cache's hits and misses.
 *
 * <p>Windows in flight are capped at {@code maxConcurrentLoads} too: a window holds its keys'
 * leases while it waits for a permit, and a lease that outlived its TTL in that queue would let
 * another instance load the same keys.
 */
final class BulkWarm<K, V> {
  private final Services<K, V> services;
  private final BulkRead<K, V> bulk;

  BulkWarm(Services<K, V> services, BulkRead<K, V> bulk) {
    this.services = services;
    this.bulk = bulk;
  }

  Flux<WarmProgress> warm(Publisher<? extends K> keys, BulkLoader<K, V> loader,
      WarmOptions options) {
    Objects.requireNonNull(keys, "keys must not be null");
    Objects.requireNonNull(loader, "loader must not be null");
    Objects.requireNonNull(options, "options must not be null");
    return Flux.defer(() -> {
      LongAdder storeErrors = services.stats().storeErrors;
      long storeErrorsBefore = storeErrors.sum();
      LoadPermits permits = new LoadPermits(options.maxConcurrentLoads());
      BulkLoads<K, V> loads = new BulkLoads<>(services,
          chunk -> permits.run(() -> loader.load(chunk)));
      return bulk.windows(paced(keys, options.maxKeysPerSecond()))
          .flatMap(window -> new BulkWindow<>(services, loads, window, BulkOrder.COMPLETION)
              .uncountedAnswers(), options.maxConcurrentLoads())
          .scan(WarmProgress.NONE, (progress, batch) ->
              progress.plus(tally(batch), storeErrors.sum() - storeErrorsBefore))
          .skip(1)
          .defaultIfEmpty(WarmProgress.NONE);
    });
  }

  /**
   * At most {@code perSecond} keys a second: keys pass as they come, and after each tenth of a
   * second's keys (one key's share, below ten a second) the next waits a tenth of a second, on the
   * cache's scheduler, so virtual time drives it in tests. No key is held back waiting for others:
   * a key stream slower than the cap (keys as they are found) is warmed as it comes.
   */
  private Flux<K> paced(Publisher<? extends K> keys, int perSecond) {
    Flux<K> all = Flux.from(keys);
    if (perSecond == WarmOptions.UNLIMITED) {
      return all;
    }
    int perTick = Math.max(1, perSecond / 10);
    Duration tick = Duration.ofNanos(perTick * 1_000_000_000L / perSecond);
    return Flux.defer(() -> {
      long[] taken = {0}; // the concatMap's mapper runs one key at a time
      return all.concatMap(key -> {
        long index = taken[0]++;
        return index == 0 || index % perTick != 0 ? Mono.just(key)
            : Mono.delay(tick, services.settings().scheduler()).thenReturn(key);
      }, 1);
    });
  }

  private static WarmProgress tally(List<? extends BulkSlot<?, ?>> batch) {
    long warmed = 0;
    long notFound = 0;
    long skipped = 0;
    long failed = 0;
    for (BulkSlot<?, ?> slot : batch) {
      Outcome<?> outcome = slot.outcome;
      if (slot.error != null || outcome == null) {
        failed++;
      } else if (outcome.kind() != Outcome.Kind.LOADED) {
        skipped++;
      } else if (outcome.value() == null) {
        notFound++;
      } else {
        warmed++;
      }
    }
    return new WarmProgress(warmed, notFound, skipped, failed);
  }
}
