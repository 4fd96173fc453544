package dev.cacheaside.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.HashSet;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The refresh decisions as pure functions: XFetch against its formula at chosen points and, over
 * many simulated reads with a seeded random source, against the distribution the formula
 * predicts; {@code ahead} against its window.
 */
class EarlyRefreshTest {
  private static final long EXPIRY = 1_700_000_100_000L;

  /**
   * {@code now - delta * beta * ln(r) >= expiry}: at a gap {@code g} before expiry a read
   * refreshes exactly when {@code r <= exp(-g / (delta * beta))}.
   */
  @ParameterizedTest(name = "gap {0} ms, delta {1}, beta {2}, r {3} -> {4}")
  @CsvSource({
      // at expiry every draw refreshes (ln r <= 0)
      "0, 100, 1.0, 1.0, true",
      "0, 100, 1.0, 0.999999, true",
      // one delta before expiry with beta 1: threshold exp(-1) = 0.36788
      "100, 100, 1.0, 0.3678, true",
      "100, 100, 1.0, 0.3679, false",
      // beta 2 doubles the reach: same gap, threshold exp(-0.5) = 0.60653
      "100, 100, 2.0, 0.6065, true",
      "100, 100, 2.0, 0.6066, false",
      // ten deltas out: threshold exp(-10) = 4.53999e-5
      "1000, 100, 1.0, 0.0000453, true",
      "1000, 100, 1.0, 0.0000454, false",
      // r = 1 (ln r = 0) never refreshes before expiry
      "1, 100, 1.0, 1.0, false",
      // a slow load (5 s) reaches far: 2 s out, threshold exp(-0.4) = 0.67032
      "2000, 5000, 1.0, 0.6703, true",
      "2000, 5000, 1.0, 0.6704, false",
  })
  void xfetchDue_matchesTheFormula(long gap, double delta, double beta, double r,
      boolean expected) {
    assertThat(EarlyRefresh.xfetchDue(EXPIRY - gap, EXPIRY, delta, beta, r)).isEqualTo(expected);
  }

  @Test
  void xfetch_policy_drawsROneMinusTheSample_andFloorsDeltaAtOneMilli() {
    // sample 0.5 -> r = 0.5 -> reach = delta * beta * ln 2 = 100 * 2 * 0.6931 = 138.6 ms
    EarlyRefresh policy = EarlyRefresh.xfetch(2.0, () -> 0.5);
    long loadedAt = EXPIRY - 10_000;
    assertThat(policy.due("k", loadedAt, EXPIRY, 100, EXPIRY - 138)).isTrue();
    assertThat(policy.due("k", loadedAt, EXPIRY, 100, EXPIRY - 139)).isFalse();
    // a load of under 1 ms counts as 1 ms: sample ~1 -> r tiny -> reach ln(1e12) * 1 ms = 27.6 ms
    EarlyRefresh eager = EarlyRefresh.xfetch(1.0, () -> 1.0 - 1e-12);
    assertThat(eager.due("k", loadedAt, EXPIRY, 0, EXPIRY - 27)).isTrue();
    assertThat(eager.due("k", loadedAt, EXPIRY, 0, EXPIRY - 28)).isFalse();
    // sample 0 -> r = 1 -> only at expiry
    EarlyRefresh lazy = EarlyRefresh.xfetch(1.0, () -> 0.0);
    assertThat(lazy.due("k", loadedAt, EXPIRY, 5_000, EXPIRY - 1)).isFalse();
  }

  /**
   * The share of reads that refresh, bucketed by time to expiry in units of {@code delta * beta},
   * is {@code exp(-x)}. 20,000 reads per point: the standard error is at most 0.0036, the stated
   * tolerance 0.015 is four of them.
   */
  @Test
  void xfetch_shareOfRefreshingReads_byTimeToExpiry_isExpOfMinusGapOverDeltaBeta() {
    SplittableRandom random = new SplittableRandom(42);
    int delta = 200;
    double beta = 1.5;
    EarlyRefresh policy = EarlyRefresh.xfetch(beta, random::nextDouble);
    int reads = 20_000;
    for (double x : new double[] {0.05, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0}) {
      long gap = Math.round(x * delta * beta);
      int refreshed = 0;
      for (int i = 0; i < reads; i++) {
        if (policy.due("k", EXPIRY - 60_000, EXPIRY, delta, EXPIRY - gap)) {
          refreshed++;
        }
      }
      double expected = Math.exp(-(double) gap / (delta * beta));
      assertThat((double) refreshed / reads).as("share refreshing %s delta*beta before expiry", x)
          .isCloseTo(expected, within(0.015));
    }
  }

  /**
   * Reads arrive every {@code h} ms up to expiry and the first one that decides to refresh is
   * the refresh: its lead before expiry {@code L} has
   * {@code P(L > g) = 1 - prod over reads at gaps > g of (1 - exp(-gap / (delta * beta)))}.
   * 20,000 simulated entry lifetimes, compared at four points with tolerance 0.015.
   */
  @Test
  void xfetch_leadOfTheFirstRefresh_underSteadyReads_followsTheFormula() {
    SplittableRandom random = new SplittableRandom(7);
    int delta = 100;
    double beta = 1.0;
    int h = 10;
    int horizon = 2_000;
    EarlyRefresh policy = EarlyRefresh.xfetch(beta, random::nextDouble);
    int trials = 20_000;
    int[] leads = new int[trials];
    for (int t = 0; t < trials; t++) {
      leads[t] = 0;
      for (int gap = horizon; gap > 0; gap -= h) {
        if (policy.due("k", EXPIRY - 60_000, EXPIRY, delta, EXPIRY - gap)) {
          leads[t] = gap;
          break;
        }
      }
    }
    for (int g : new int[] {50, 100, 200, 300}) {
      double none = 1.0;
      for (int gap = horizon; gap > g; gap -= h) {
        none *= 1.0 - Math.exp(-gap / (delta * beta));
      }
      int later = 0;
      for (int lead : leads) {
        if (lead > g) {
          later++;
        }
      }
      assertThat((double) later / trials).as("P(lead > %s ms)", g)
          .isCloseTo(1.0 - none, within(0.015));
    }
  }

  @Test
  void ahead_dueFromItsPointOn_pointWithinTenPercentBeforeTheFraction() {
    EarlyRefresh policy = EarlyRefresh.ahead(0.8);
    long loadedAt = EXPIRY - 100_000;
    Set<Long> points = new HashSet<>();
    for (int i = 0; i < 200; i++) {
      String key = "products:" + i;
      long point = EarlyRefresh.aheadPoint(key, loadedAt, EXPIRY, 0.8);
      assertThat(point).isBetween(loadedAt + 72_000, loadedAt + 80_000);
      assertThat(policy.due(key, loadedAt, EXPIRY, 50, point - 1)).isFalse();
      assertThat(policy.due(key, loadedAt, EXPIRY, 50, point)).isTrue();
      assertThat(EarlyRefresh.aheadPoint(key, loadedAt, EXPIRY, 0.8))
          .as("every instance computes the same point").isEqualTo(point);
      points.add(point);
    }
    assertThat(points).as("keys loaded together spread out").hasSizeGreaterThan(150);
  }

  @Test
  void none_neverDue() {
    assertThat(EarlyRefresh.none().isNone()).isTrue();
    assertThat(EarlyRefresh.none().due("k", 0, EXPIRY, 1000, EXPIRY - 1)).isFalse();
  }

  @Test
  void badArguments_failAtOnceWithClearMessages() {
    assertThatThrownBy(() -> EarlyRefresh.xfetch(0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("xfetch beta must be finite and > 0 but was 0.0");
    assertThatThrownBy(() -> EarlyRefresh.xfetch(Double.NaN))
        .hasMessage("xfetch beta must be finite and > 0 but was NaN");
    assertThatThrownBy(() -> EarlyRefresh.xfetch(Double.POSITIVE_INFINITY))
        .hasMessage("xfetch beta must be finite and > 0 but was Infinity");
    assertThatThrownBy(() -> EarlyRefresh.xfetch(1.0, null))
        .isInstanceOf(NullPointerException.class).hasMessage("random must not be null");
    assertThatThrownBy(() -> EarlyRefresh.ahead(0))
        .hasMessage("ahead fraction must be in (0, 1) but was 0.0");
    assertThatThrownBy(() -> EarlyRefresh.ahead(1))
        .hasMessage("ahead fraction must be in (0, 1) but was 1.0");
    assertThatThrownBy(() -> EarlyRefresh.xfetch(1.0, () -> 1.0).due("k", 0, EXPIRY, 1, 0))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("xfetch random source returned 1.0, not a sample in [0, 1)");
    assertThat(EarlyRefresh.xfetch()).hasToString("EarlyRefresh.xfetch(1.0)");
    assertThat(EarlyRefresh.ahead(0.8)).hasToString("EarlyRefresh.ahead(0.8)");
  }
}
