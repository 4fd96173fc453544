package dev.cacheaside.examples.demo;

import java.util.SplittableRandom;

/**
 * Product ids 1..n drawn with a Zipf-like skew: id {@code k} with probability close to
 * {@code 1 / k^s}. It inverts the continuous approximation of Zipf's distribution (the integral of
 * {@code x^-s}) instead of building the exact table, which is close enough for a demo load and
 * costs nothing to set up. Not thread-safe: the demo draws its requests up front on one thread.
 */
final class ZipfKeys {
  private final int n;
  private final double s;
  private final SplittableRandom random;

  ZipfKeys(int n, double s, long seed) {
    this.n = n;
    this.s = s;
    this.random = new SplittableRandom(seed);
  }

  long next() {
    double u = random.nextDouble();
    double x; // in [1, n + 1): the continuous rank whose CDF is u
    if (Math.abs(s - 1.0) < 1e-9) {
      x = Math.exp(u * Math.log(n + 1.0));
    } else {
      double top = Math.pow(n + 1.0, 1 - s) - 1;
      x = Math.pow(1 + u * top, 1 / (1 - s));
    }
    return Math.min(n, Math.max(1, (long) x));
  }

  /** Whether the next request is a write, {@code percent} times in a hundred. */
  boolean nextIsWrite(int percent) {
    return random.nextInt(100) < percent;
  }
}
