package dev.cacheaside.examples.demo;

import dev.cacheaside.core.CacheAside;
import dev.cacheaside.core.JsonCodec;
import dev.cacheaside.examples.Product;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

/**
 * Many callers on several instances read one cold key at the same moment. Each instance has its
 * own in-flight map (as separate JVMs would), so without leases each loads once; with leases one
 * caller in all of them loads and the rest wait for its value.
 */
final class StampedeSection {
  private StampedeSection() {}

  /** What one stampede measured. */
  record Outcome(int requests, int loaderCalls, int answered, long[] latencies) {}

  static void run(DemoEnv env, DemoSizes sizes, Report report) {
    int instances = sizes.stampedeInstances();
    int perInstance = sizes.stampedeRequestsPerInstance();
    report.section("Cold-key stampede", String.format(java.util.Locale.ROOT,
        "%,d callers read one uncached key at once, %,d on each of %d instances sharing Redis;"
            + " the loader takes %d ms. With leases one of them loads, the others wait for it.",
        instances * perInstance, perInstance, instances, sizes.slowLoad().toMillis()));
    // An unreported round of each first: the JVM's first reads load and compile the whole path
    // (Lettuce, the lease scripts, Reactor, Jackson), and that cost, over 100 ms here, would be
    // charged to whichever stampede ran first.
    stampede(env, sizes, true, "warm-up");
    stampede(env, sizes, false, "warm-up");
    Outcome leased = stampede(env, sizes, true, "measured");
    Outcome plain = stampede(env, sizes, false, "measured");
    // The exact line issue 2 asks the demo to print.
    report.line("stampede: %d concurrent requests, %d loader calls", leased.requests(),
        leased.loaderCalls());
    report.row("leases (default)", "%,d loader call, %,d of %,d callers answered, %s",
        leased.loaderCalls(), leased.answered(), leased.requests(),
        Report.p50p99(leased.latencies(), 1));
    report.row("leases off", "%,d loader calls (one per instance), %,d of %,d callers answered,"
            + " %s", plain.loaderCalls(), plain.answered(), plain.requests(),
        Report.p50p99(plain.latencies(), 1));
  }

  static Outcome stampede(DemoEnv env, DemoSizes sizes, boolean leases, String round) {
    String name = env.name((leases ? "stampede-leased-" : "stampede-plain-") + round);
    List<CacheAside<Long, Product>> instances = new ArrayList<>();
    for (int i = 0; i < sizes.stampedeInstances(); i++) {
      instances.add(CacheAside.<Long, Product>builder(name)
          .store(env.newStore()).codec(JsonCodec.of(Product.class))
          .leases(leases)
          // The default (1 s) is ample for a 50 ms load; a longer wait keeps the count exact
          // when the machine is busy (a waiter that gives up loads by itself).
          .leaseWait(Duration.ofSeconds(10))
          .build());
    }
    AtomicInteger loaderCalls = new AtomicInteger();
    Function<Long, Mono<Product>> slowLoader = id -> {
      loaderCalls.incrementAndGet();
      return Mono.delay(sizes.slowLoad()).thenReturn(new Product(id, "Product " + id, 100 + id));
    };
    int perInstance = sizes.stampedeRequestsPerInstance();
    int requests = instances.size() * perInstance;
    long[] latencies = new long[requests];
    AtomicInteger answered = new AtomicInteger();
    Flux.range(0, requests)
        .flatMap(i -> {
          long start = System.nanoTime();
          return instances.get(i / perInstance).cacheAside(1L, slowLoader)
              .doOnNext(product -> {
                latencies[i] = System.nanoTime() - start;
                answered.incrementAndGet();
              })
              .subscribeOn(Schedulers.parallel());
        }, requests)
        .blockLast(Duration.ofMinutes(1));
    return new Outcome(requests, loaderCalls.get(), answered.get(), latencies);
  }
}
