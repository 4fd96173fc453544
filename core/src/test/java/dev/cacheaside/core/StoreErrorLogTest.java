package dev.cacheaside.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;
import reactor.test.scheduler.VirtualTimeScheduler;
import reactor.test.util.TestLogger;

/** Failing store calls reach the log at WARN: the first at once, then a count per period. */
class StoreErrorLogTest {
  private final VirtualTimeScheduler time = VirtualTimeScheduler.create();
  private final TestLogger logger = new TestLogger(false);
  private final StatsCounter stats = new StatsCounter();
  private final StoreErrorLog errors = new StoreErrorLog("products", time, stats, logger);

  private long warnings() {
    return logger.getErrContent().lines().filter(line -> line.contains("WARN")).count();
  }

  @Test
  void firstFailure_isAWarningAtOnce_withItsError() {
    errors.failed("get", "products:1", new IllegalStateException("connection refused"));
    assertThat(warnings()).isEqualTo(1);
    assertThat(logger.getErrContent()).contains("cache 'products': 1 store call(s) failed")
        .contains("get of products:1").contains("connection refused");
  }

  @Test
  void failuresThatGoOn_oneWarningPerPeriod_withTheirCount() {
    errors.failed("get", "products:1", new IllegalStateException("down"));
    for (int i = 0; i < 41; i++) {
      errors.failed("getOrLease", "products:" + i, new IllegalStateException("down"));
    }
    assertThat(warnings()).as("no more within the period").isEqualTo(1);
    time.advanceTimeBy(Duration.ofMillis(StoreErrorLog.PERIOD_MILLIS));
    errors.failed("get", "products:2", new IllegalStateException("still down"));
    assertThat(warnings()).isEqualTo(2);
    assertThat(logger.getErrContent()).contains("42 store call(s) failed in the last period")
        .contains("still down");
    assertThat(stats.storeErrors.sum()).isEqualTo(43);
  }
}
