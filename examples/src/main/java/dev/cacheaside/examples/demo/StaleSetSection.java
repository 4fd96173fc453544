package dev.cacheaside.examples.demo;

import dev.cacheaside.core.CacheAside;
import dev.cacheaside.core.Codec;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicReference;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;

/**
 * The stale-set race, forced step by step: a reader misses and reads the old row; a writer
 * updates the row and invalidates the key; only then does the reader's load finish and try to
 * store the old row. Without leases it lands in the cache and stays until its TTL; with leases its
 * store is refused (the invalidation took the lease).
 */
final class StaleSetSection {
  private StaleSetSection() {}

  /** What the cache served after the race, and how many stores the leases refused. */
  record Outcome(String servedAfterWrite, long storesRefused) {}

  static void run(DemoEnv env, Report report) {
    report.section("Stale-set race", "A reader loads the old row, a writer updates it and"
        + " invalidates the key, then the reader's load stores what it read (forced in this"
        + " order).");
    Outcome plain = race(env, false);
    Outcome leased = race(env, true);
    report.row("leases off", "the cache then serves \"%s\" (%s)", plain.servedAfterWrite(),
        plain.servedAfterWrite().equals("old") ? "stale entry left until its TTL" : "not stale");
    report.row("leases (default)", "the cache then serves \"%s\" (%s; %d late store refused)",
        leased.servedAfterWrite(), leased.servedAfterWrite().equals("old")
            ? "stale entry left until its TTL" : "no stale entry", leased.storesRefused());
  }

  static Outcome race(DemoEnv env, boolean leases) {
    String name = env.name(leases ? "race-leased" : "race-plain");
    AtomicReference<String> row = new AtomicReference<>("old");
    CacheAside<Long, String> reader = CacheAside.<Long, String>builder(name)
        .store(env.newStore()).codec(Codec.utf8()).leases(leases).build();
    CacheAside<Long, String> writer = CacheAside.<Long, String>builder(name)
        .store(env.newStore()).codec(Codec.utf8()).leases(leases).build();
    Sinks.One<String> readerHasOldRow = Sinks.one();
    Sinks.One<String> finishLoad = Sinks.one();
    Mono<String> read = reader.cacheAside(1L, id -> {
      String seen = row.get();
      readerHasOldRow.tryEmitValue(seen);
      return finishLoad.asMono().thenReturn(seen);
    }).cache();
    read.subscribe();
    readerHasOldRow.asMono().block(Duration.ofSeconds(10));
    writer.writeThenInvalidate(1L, Mono.fromRunnable(() -> row.set("new")))
        .block(Duration.ofSeconds(10));
    finishLoad.tryEmitValue("go");
    read.block(Duration.ofSeconds(10));
    String served = writer.cacheAside(1L, id -> Mono.just(row.get())).block(Duration.ofSeconds(10));
    return new Outcome(served == null ? "nothing" : served, reader.stats().leasesLost());
  }
}
