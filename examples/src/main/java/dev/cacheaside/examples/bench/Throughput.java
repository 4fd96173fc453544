package dev.cacheaside.examples.bench;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.function.IntFunction;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/** Reads per second of variants of one read, measured side by side. */
final class Throughput {
  private Throughput() {}

  /**
   * Two warm-up runs per variant, then {@code rounds} rounds of one run per variant, interleaved
   * so that drift (other load on the machine, JIT, GC) hits every variant alike. Returns each
   * variant's reads per second per round, in the variants' order.
   */
  static Map<String, double[]> interleaved(Map<String, IntFunction<? extends Mono<?>>> variants,
      int[] keys, int concurrency, int rounds) {
    for (IntFunction<? extends Mono<?>> op : variants.values()) {
      run(op, keys, concurrency);
      run(op, keys, concurrency);
    }
    Map<String, double[]> throughput = new LinkedHashMap<>();
    variants.keySet().forEach(name -> throughput.put(name, new double[rounds]));
    for (int round = 0; round < rounds; round++) {
      for (Map.Entry<String, IntFunction<? extends Mono<?>>> v : variants.entrySet()) {
        throughput.get(v.getKey())[round] = run(v.getValue(), keys, concurrency);
      }
    }
    return throughput;
  }

  /**
   * Prints a markdown table: per variant its median, its ratio to the first variant's median, and
   * the range over rounds. {@code firstHeader} heads the first column.
   */
  static void printTable(String firstHeader, Map<String, double[]> throughput) {
    double baseline = Stats.median(throughput.values().iterator().next());
    System.out.printf(Locale.ROOT, "| %s | reads/s (median) | vs raw | min..max |%n", firstHeader);
    System.out.println("|---|---:|---:|---|");
    for (Map.Entry<String, double[]> t : throughput.entrySet()) {
      double median = Stats.median(t.getValue());
      System.out.printf(Locale.ROOT, "| %s | %,.0f | %.1f %% | %s |%n", t.getKey(), median,
          100.0 * median / baseline, Stats.range(t.getValue()));
    }
  }

  /** Runs {@code op} once per key, at most {@code concurrency} at a time; returns reads per second. */
  static double run(IntFunction<? extends Mono<?>> op, int[] keys, int concurrency) {
    long start = System.nanoTime();
    Flux.range(0, keys.length).flatMap(i -> op.apply(keys[i]), concurrency).blockLast();
    return keys.length / ((System.nanoTime() - start) / 1e9);
  }
}
