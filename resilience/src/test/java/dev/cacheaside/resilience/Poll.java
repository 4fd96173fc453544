package dev.cacheaside.resilience;

import java.time.Duration;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

/** Bounded polling, for states reached by background work (a replay, a breaker's timer). */
final class Poll {
  private Poll() {}

  /** Returns once {@code condition} holds; fails after {@code timeout}. */
  static void until(String what, Duration timeout, BooleanSupplier condition) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() - deadline >= 0) {
        throw new AssertionError(
            "timed out after " + timeout.toMillis() + " ms waiting for " + what);
      }
      LockSupport.parkNanos(Duration.ofMillis(5).toNanos());
    }
  }
}
