package dev.cacheaside.testing;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Waiting for a {@link CountDownLatch} in a test: the step that forces an interleaving ("the
 * reader is inside its load", "every subscriber has subscribed") before the test goes on.
 */
public final class Latches {
  /**
   * The longest wait: long enough for a loaded machine, short enough that a step that never
   * happens fails the test instead of hanging it. Not a timing assertion.
   */
  public static final Duration BOUND = Duration.ofSeconds(10);

  private Latches() {}

  /**
   * Waits until {@code latch} reaches zero, at most {@link #BOUND}.
   *
   * @param what the awaited step, for the failure message
   * @throws AssertionError naming {@code what} when the bound passes or the thread is interrupted
   *     (its interrupt flag is restored)
   */
  public static void await(CountDownLatch latch, String what) {
    try {
      if (!latch.await(BOUND.toMillis(), TimeUnit.MILLISECONDS)) {
        throw new AssertionError("timed out after " + BOUND.toSeconds() + " s waiting for " + what
            + " (" + latch.getCount() + " counts left)");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted while waiting for " + what, e);
    }
  }
}
