package dev.cacheaside.examples.bench;

import dev.cacheaside.testing.SchedulerClock;

import dev.cacheaside.core.CacheAside;
import dev.cacheaside.core.stats.CacheStats;
import dev.cacheaside.core.Codec;
import dev.cacheaside.core.EarlyRefresh;
import dev.cacheaside.core.spi.InMemoryCacheStore;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.DoubleSupplier;
import java.util.function.Function;
import reactor.core.publisher.Mono;
import reactor.test.scheduler.VirtualTimeScheduler;

/**
 * A hot key under steady load over many TTL periods, in virtual time: reads arrive as a Poisson
 * stream spread over four instances sharing one in-memory store; the loader takes 100 to 300 ms
 * (uniform) of virtual time. For each early refresh policy it prints database loads per TTL
 * period and callers who waited on a load (a read that was not answered at the instant it was
 * made), plus how early refreshes came before expiry. Deterministic: one thread, virtual time,
 * fixed seeds; the real {@code CacheAside} code runs, only time is simulated.
 *
 * <p>Run: {@code mvn -B -q -Pbench -Dbench=EarlyRefreshSimulation -DskipTests package}. Options
 * (system properties via {@code -Drun.jvm.args="-Dperiods=..."}): {@code periods} (100 TTL periods
 * measured, after one of warm-up), {@code seed} (1).
 */
public final class EarlyRefreshSimulation {
  private static final int PERIODS = Integer.getInteger("periods", 100);
  private static final long SEED = Long.getLong("seed", 1);
  private static final Duration TTL = Duration.ofSeconds(10);
  private static final int LOAD_MIN_MILLIS = 100;
  private static final int LOAD_MAX_MILLIS = 300;
  private static final int INSTANCES = 4;

  private EarlyRefreshSimulation() {}

  /** A policy of the table: its label and how to build it from a seeded random source. */
  private record Policy(String label, Function<DoubleSupplier, EarlyRefresh> make) {}

  /** What one run measured. */
  private record Result(double loadsPerPeriod, double refreshLoadsPerPeriod, int maxLoadsInAPeriod,
      double waitersPerPeriod, double waitedShare, double meanWaitMillis, double meanLeadMillis,
      double periodsWithWaiters) {}

  public static void main(String[] args) {
    List<Policy> policies = List.of(
        new Policy("none", random -> EarlyRefresh.none()),
        new Policy("ahead(0.8)", random -> EarlyRefresh.ahead(0.8)),
        new Policy("xfetch(0.5)", random -> EarlyRefresh.xfetch(0.5, random)),
        new Policy("xfetch(1.0)", random -> EarlyRefresh.xfetch(1.0, random)),
        new Policy("xfetch(2.0)", random -> EarlyRefresh.xfetch(2.0, random)));
    System.out.printf(Locale.ROOT, "early refresh: one hot key, TTL %d s, loads of %d..%d ms,"
            + " %d instances, %d TTL periods per row, seed %d (virtual time)%n%n",
        TTL.toSeconds(), LOAD_MIN_MILLIS, LOAD_MAX_MILLIS, INSTANCES, PERIODS, SEED);
    System.out.println("| reads/s | policy | DB loads / TTL | of them refreshes | most loads in"
        + " one TTL | TTLs with a waiter | callers waited / TTL | waited % | mean wait ms |"
        + " refresh lead ms |");
    System.out.println("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (int rate : new int[] {2, 10, 100, 1000}) {
      for (Policy policy : policies) {
        Result r = run(rate, policy);
        System.out.printf(Locale.ROOT,
            "| %d | %s | %.2f | %.2f | %d | %.0f %% | %.2f | %.3f | %.0f | %s |%n",
            rate, policy.label(), r.loadsPerPeriod(), r.refreshLoadsPerPeriod(),
            r.maxLoadsInAPeriod(), 100 * r.periodsWithWaiters(), r.waitersPerPeriod(),
            100 * r.waitedShare(), r.meanWaitMillis(),
            r.refreshLoadsPerPeriod() == 0 ? "-" : String.format(Locale.ROOT, "%.0f",
                r.meanLeadMillis()));
      }
    }
  }

  private static Result run(int readsPerSecond, Policy policy) {
    VirtualTimeScheduler time = VirtualTimeScheduler.create();
    try {
      Clock clock = new SchedulerClock(time);
      SplittableRandom arrivals = new SplittableRandom(SEED);
      SplittableRandom loadTimes = new SplittableRandom(SEED + 1);
      SplittableRandom decisions = new SplittableRandom(SEED + 2);
      InMemoryCacheStore store = InMemoryCacheStore.builder().clock(clock).build();
      List<CacheAside<String, String>> instances = new ArrayList<>();
      for (int i = 0; i < INSTANCES; i++) {
        instances.add(CacheAside.<String, String>builder("sim").store(store)
            .codec(Codec.utf8()).clock(clock).scheduler(time).refreshScheduler(time)
            .ttl(TTL).leaseWait(Duration.ofSeconds(5))
            .earlyRefresh(policy.make().apply(decisions::nextDouble)).build());
      }
      long ttl = TTL.toMillis();
      long start = ttl; // one period of warm-up
      long end = start + PERIODS * ttl;
      long[] loadsInPeriod = new long[PERIODS];
      long[] waitersInPeriod = new long[PERIODS];
      long[] waited = new long[2]; // count, total wait millis
      long[] reads = new long[1];
      Function<String, Mono<String>> loader = key -> {
        long now = clock.millis();
        if (now >= start && now < end) {
          loadsInPeriod[(int) ((now - start) / ttl)]++;
        }
        int millis = LOAD_MIN_MILLIS + loadTimes.nextInt(LOAD_MAX_MILLIS - LOAD_MIN_MILLIS + 1);
        return Mono.delay(Duration.ofMillis(millis), time).thenReturn("row");
      };
      CacheStats[] before = new CacheStats[INSTANCES];
      time.schedule(() -> {
        for (int i = 0; i < INSTANCES; i++) {
          before[i] = instances.get(i).stats();
        }
      }, start, TimeUnit.MILLISECONDS);
      Runnable[] arrival = new Runnable[1];
      arrival[0] = () -> {
        long now = clock.millis();
        if (now >= start && now < end) {
          reads[0]++;
          int period = (int) ((now - start) / ttl);
          CacheAside<String, String> cache = instances.get(arrivals.nextInt(INSTANCES));
          cache.cacheAside("hot", loader).subscribe(v -> {
            long wait = clock.millis() - now;
            if (wait > 0) {
              waited[0]++;
              waited[1] += wait;
              waitersInPeriod[period]++;
            }
          });
        } else if (now < start) {
          instances.get(arrivals.nextInt(INSTANCES)).cacheAside("hot", loader).subscribe();
        }
        // exponential inter-arrival times: a Poisson stream of reads, until the end
        double gap = -Math.log(1.0 - arrivals.nextDouble()) * 1000.0 / readsPerSecond;
        if (now < end) {
          time.schedule(arrival[0], Math.max(1, Math.round(gap * 1000)), TimeUnit.MICROSECONDS);
        }
      };
      time.schedule(arrival[0]);
      // past the end, so that the reads made before it finish waiting
      time.advanceTimeTo(Instant.ofEpochMilli(end + 2 * ttl));

      long refreshes = 0;
      long leadTotal = 0;
      long refreshFailures = 0;
      for (int i = 0; i < INSTANCES; i++) {
        CacheStats delta = instances.get(i).stats().minus(before[i]);
        refreshes += delta.refreshes();
        refreshFailures += delta.refreshFailures();
        leadTotal += delta.totalRefreshLeadMillis();
      }
      long loads = 0;
      int maxLoads = 0;
      int periodsWithWaiters = 0;
      for (int p = 0; p < PERIODS; p++) {
        loads += loadsInPeriod[p];
        maxLoads = (int) Math.max(maxLoads, loadsInPeriod[p]);
        periodsWithWaiters += waitersInPeriod[p] > 0 ? 1 : 0;
      }
      long succeeded = refreshes - refreshFailures;
      return new Result((double) loads / PERIODS, (double) refreshes / PERIODS, maxLoads,
          (double) waited[0] / PERIODS, reads[0] == 0 ? 0 : (double) waited[0] / reads[0],
          waited[0] == 0 ? 0 : (double) waited[1] / waited[0],
          succeeded == 0 ? 0 : (double) leadTotal / succeeded,
          (double) periodsWithWaiters / PERIODS);
    } finally {
      time.dispose();
    }
  }

}
