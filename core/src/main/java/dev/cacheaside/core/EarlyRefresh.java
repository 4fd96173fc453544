package dev.cacheaside.core;

import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.DoubleSupplier;

/**
 * When a cache hit also refreshes its entry in the background, before the entry expires, so that
 * a hot key never expires in front of a caller. The caller is always answered from the cache at
 * once; the refresh takes the key's lease (one instance refreshes a key, once) and stores with the
 * lease's compare-and-set (a write's invalidation during the refresh wins).
 *
 * <pre>{@code
 * CacheAside.<Long, Product>builder("products")
 *     .store(store).codec(JsonCodec.of(Product.class))
 *     .earlyRefresh(EarlyRefresh.xfetch(1.0))
 *     .build();
 * }</pre>
 *
 * <ul>
 *   <li>{@link #none()} (the default): entries expire; the next reader loads (one reader per key,
 *       thanks to the in-flight map and the lease).</li>
 *   <li>{@link #xfetch(double)}: probabilistic early expiration, optimal per Vattani, Chierichetti
 *       and Lowenstein ("Optimal Probabilistic Cache Stampede Prevention", VLDB 2015). Each hit
 *       refreshes when {@code now - delta * beta * ln(random()) >= expiry}, {@code delta} being
 *       how long the entry's own load took (kept in the entry, at least 1 ms) and
 *       {@code random()} uniform in (0, 1]. Refreshes therefore concentrate in the last few
 *       {@code delta}s before expiry, earlier for slower loads and for larger {@code beta}.</li>
 *   <li>{@link #ahead(double)}: refresh once a fixed fraction of the entry's lifetime has passed,
 *       with up to 10 % of that point drawn earlier per entry, so that keys loaded together are not
 *       refreshed together.</li>
 * </ul>
 *
 * <p>Negative entries ("not found") are refreshed the same way. Instances are immutable and
 * thread-safe.
 *
 * @since 0.1
 */
public final class EarlyRefresh {
  /** How much earlier than the fraction an {@link #ahead} refresh may be placed, per entry. */
  static final double AHEAD_JITTER = 0.10;

  private static final EarlyRefresh NONE = new EarlyRefresh(Kind.NONE, 0, 0, () -> 0.0);

  private enum Kind { NONE, XFETCH, AHEAD }

  private final Kind kind;
  private final double beta;
  private final double fraction;
  private final DoubleSupplier random;

  private EarlyRefresh(Kind kind, double beta, double fraction, DoubleSupplier random) {
    this.kind = kind;
    this.beta = beta;
    this.fraction = fraction;
    this.random = random;
  }

  /** No early refresh: entries expire and the next reader loads. The default. */
  public static EarlyRefresh none() {
    return NONE;
  }

  /** {@link #xfetch(double)} with {@code beta = 1}, the paper's recommendation. */
  public static EarlyRefresh xfetch() {
    return xfetch(1.0);
  }

  /**
   * Probabilistic early expiration (XFetch) with the given {@code beta}: greater than 1 favours
   * earlier refreshes, less than 1 later ones.
   *
   * @param beta a finite number greater than 0
   * @throws IllegalArgumentException if {@code beta} is not finite and positive
   */
  public static EarlyRefresh xfetch(double beta) {
    return xfetch(beta, () -> ThreadLocalRandom.current().nextDouble());
  }

  /**
   * {@link #xfetch(double)} drawing from {@code random}, for deterministic tests and simulations.
   *
   * @param beta a finite number greater than 0
   * @param random uniform samples in [0, 1), as {@link java.util.Random#nextDouble()} returns
   *     them; called from many threads at once, so it must be thread-safe. A sample outside
   *     [0, 1) fails the refresh decision (logged; the hit is still served).
   * @throws IllegalArgumentException if {@code beta} is not finite and positive
   */
  public static EarlyRefresh xfetch(double beta, DoubleSupplier random) {
    if (!(beta > 0.0 && Double.isFinite(beta))) {
      throw new IllegalArgumentException("xfetch beta must be finite and > 0 but was " + beta);
    }
    Objects.requireNonNull(random, "random must not be null");
    return new EarlyRefresh(Kind.XFETCH, beta, 0, random);
  }

  /**
   * Refresh once {@code fraction} of an entry's lifetime has passed (0.8: in the last fifth of
   * its TTL). Each entry's point is drawn from {@code [0.9 × fraction, fraction]}, fixed by its
   * key and expiry, so every instance agrees on it and keys loaded together spread out.
   *
   * @param fraction in (0, 1)
   * @throws IllegalArgumentException if {@code fraction} is not in (0, 1)
   */
  public static EarlyRefresh ahead(double fraction) {
    if (!(fraction > 0.0 && fraction < 1.0)) {
      throw new IllegalArgumentException("ahead fraction must be in (0, 1) but was " + fraction);
    }
    return new EarlyRefresh(Kind.AHEAD, 0, fraction, () -> 0.0);
  }

  boolean isNone() {
    return kind == Kind.NONE;
  }

  /**
   * Whether a hit at {@code now} on an entry should start a refresh. Only called for entries that
   * are not yet past their logical expiry.
   */
  boolean due(String storeKey, long loadedAt, long expiresAt, int loadMillis, long now) {
    return switch (kind) {
      case NONE -> false;
      case XFETCH -> {
        double u = random.getAsDouble();
        if (!(u >= 0.0 && u < 1.0)) {
          throw new IllegalStateException("xfetch random source returned " + u
              + ", not a sample in [0, 1)");
        }
        yield xfetchDue(now, expiresAt, Math.max(1, loadMillis), beta, 1.0 - u);
      }
      case AHEAD -> now >= aheadPoint(storeKey, loadedAt, expiresAt, fraction);
    };
  }

  /**
   * The XFetch rule, a pure function: {@code now - delta * beta * ln(r) >= expiresAt} with
   * {@code r} in (0, 1]. The chance that one read {@code g} ms before expiry refreshes is
   * {@code exp(-g / (delta * beta))}.
   */
  static boolean xfetchDue(long now, long expiresAt, double delta, double beta, double r) {
    return now - delta * beta * Math.log(r) >= expiresAt;
  }

  /** The epoch millis at which an {@link #ahead} refresh of this entry is due. */
  static long aheadPoint(String storeKey, long loadedAt, long expiresAt, double fraction) {
    double spread = unitHash(storeKey, expiresAt);
    double point = fraction * (1.0 - AHEAD_JITTER * spread);
    return loadedAt + (long) Math.ceil((expiresAt - loadedAt) * point);
  }

  /** A number in [0, 1) fixed by the key and the expiry: the same on every instance. */
  private static double unitHash(String storeKey, long expiresAt) {
    long z = storeKey.hashCode() * 0x9E3779B97F4A7C15L + expiresAt;
    // The finalizer of SplitMix64: spreads nearby inputs over the whole range.
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    z = z ^ (z >>> 31);
    return (z >>> 11) * 0x1.0p-53;
  }

  @Override
  public String toString() {
    return switch (kind) {
      case NONE -> "EarlyRefresh.none()";
      case XFETCH -> "EarlyRefresh.xfetch(" + beta + ")";
      case AHEAD -> "EarlyRefresh.ahead(" + fraction + ")";
    };
  }
}
