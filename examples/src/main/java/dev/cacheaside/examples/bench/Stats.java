package dev.cacheaside.examples.bench;

import java.util.Arrays;

/** Small statistics helpers for benchmark tables. */
final class Stats {
  private Stats() {}

  static double median(double[] values) {
    double[] sorted = values.clone();
    Arrays.sort(sorted);
    int n = sorted.length;
    return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  }

  /** "min..max" of the values, with thousands separators. */
  static String range(double[] values) {
    double min = Double.MAX_VALUE;
    double max = -Double.MAX_VALUE;
    for (double value : values) {
      min = Math.min(min, value);
      max = Math.max(max, value);
    }
    return String.format(java.util.Locale.ROOT, "%,.0f..%,.0f", min, max);
  }

  /** The p-th percentile (0..100) of nanosecond samples, in microseconds. */
  static double percentileMicros(long[] nanos, double p) {
    if (nanos.length == 0) {
      return 0;
    }
    long[] sorted = nanos.clone();
    Arrays.sort(sorted);
    int index = (int) Math.ceil(p / 100.0 * sorted.length) - 1;
    return sorted[Math.max(0, Math.min(sorted.length - 1, index))] / 1000.0;
  }
}
