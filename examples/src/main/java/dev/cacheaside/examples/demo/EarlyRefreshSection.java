package dev.cacheaside.examples.demo;

import dev.cacheaside.core.CacheAside;
import dev.cacheaside.core.stats.CacheStats;
import dev.cacheaside.core.Codec;
import dev.cacheaside.core.EarlyRefresh;
import dev.cacheaside.redis.RedisCacheStore;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * One hot key read steadily over a few TTLs, through two caches side by side: one without early
 * refresh, where every expiry makes the callers of the next load's duration wait, and one with
 * {@code EarlyRefresh.xfetch(1.0)}, which reloads the key in the background shortly before it
 * expires. A caller waited when the value it got was loaded after its read began.
 */
final class EarlyRefreshSection {
  private EarlyRefreshSection() {}

  /** What one cache saw. */
  record Outcome(String policy, int reads, int waited, int loads, CacheStats stats) {}

  static void run(DemoEnv env, DemoSizes sizes, Report report) {
    report.section("Early refresh", String.format(Locale.ROOT,
        "One hot key with a %,d ms TTL whose load takes %,d ms, read %,d times a second for %d"
            + " TTLs, without and with XFetch early refresh side by side.",
        sizes.refreshTtl().toMillis(), sizes.refreshLoad().toMillis(),
        sizes.refreshReadsPerSecond(), sizes.refreshTtls()));
    for (Outcome o : compare(env, sizes)) {
      report.row(o.policy(), "%,d reads, %,d waited for a load; %,d loads (%,d in the"
          + " background)", o.reads(), o.waited(), o.loads(), o.stats().refreshes());
    }
  }

  static List<Outcome> compare(DemoEnv env, DemoSizes sizes) {
    RedisCacheStore store = env.newStore();
    Hot none = new Hot("none", env.name("hot-none"), EarlyRefresh.none(), store, sizes);
    Hot xfetch = new Hot("xfetch(1.0)", env.name("hot-xfetch"), EarlyRefresh.xfetch(1.0), store,
        sizes);
    // The first load of each is a cold miss, not an expiry: not counted.
    none.read(System.nanoTime()).block(Duration.ofSeconds(10));
    xfetch.read(System.nanoTime()).block(Duration.ofSeconds(10));
    CacheStats noneBefore = none.reset();
    CacheStats xfetchBefore = xfetch.reset();
    Duration period = Duration.ofNanos(1_000_000_000L / sizes.refreshReadsPerSecond());
    Duration length = sizes.refreshTtl().multipliedBy(sizes.refreshTtls());
    Flux.interval(period)
        .take(length)
        .onBackpressureDrop()
        .flatMap(tick -> {
          long start = System.nanoTime();
          return Flux.merge(none.read(start), xfetch.read(start));
        })
        .blockLast(length.plusSeconds(30));
    return List.of(none.outcome(noneBefore), xfetch.outcome(xfetchBefore));
  }

  /** A cache of the hot key whose value is the time its load completed. */
  private static final class Hot {
    final String policy;
    final CacheAside<Long, String> cache;
    final AtomicInteger loads = new AtomicInteger();
    final AtomicInteger reads = new AtomicInteger();
    final AtomicInteger waited = new AtomicInteger();
    final Function<Long, Mono<String>> loader;

    Hot(String policy, String name, EarlyRefresh earlyRefresh, RedisCacheStore store,
        DemoSizes sizes) {
      this.policy = policy;
      this.cache = CacheAside.<Long, String>builder(name).store(store).codec(Codec.utf8())
          .ttl(sizes.refreshTtl()).earlyRefresh(earlyRefresh).build();
      this.loader = id -> {
        loads.incrementAndGet();
        return Mono.delay(sizes.refreshLoad()).map(ignored -> Long.toString(System.nanoTime()));
      };
    }

    /** Zeroes the counters and returns the cache's stats at this point. */
    CacheStats reset() {
      loads.set(0);
      reads.set(0);
      waited.set(0);
      return cache.stats();
    }

    Outcome outcome(CacheStats since) {
      return new Outcome(policy, reads.get(), waited.get(), loads.get(),
          cache.stats().minus(since));
    }

    /** Reads the hot key; counts the read, and as waited if its value was loaded after start. */
    Mono<String> read(long start) {
      return cache.cacheAside(1L, loader).doOnNext(loadedAt -> {
        reads.incrementAndGet();
        if (Long.parseLong(loadedAt) > start) {
          waited.incrementAndGet();
        }
      });
    }
  }
}
