package dev.cacheaside.testing;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/** Bounded polling: the only way this package waits for a server to reach a state. */
final class Await {

  /** One look at the state waited for. */
  @FunctionalInterface
  interface Probe<T> {
    /**
     * Returns the awaited value, or null (or throws) to look again after the poll interval; throws
     * {@link Abort} when looking again is pointless (the process died).
     */
    @Nullable T attempt() throws Exception;
  }

  /** Thrown by a probe to stop waiting at once; its message becomes the failure's message. */
  static final class Abort extends RuntimeException {
    Abort(String message) {
      super(message);
    }
  }

  private Await() {}

  /**
   * Calls {@code probe} every {@code interval} until it returns a value, for at most {@code timeout}.
   *
   * @throws IllegalStateException on timeout or {@link Abort}, naming {@code what} and carrying the
   *     last failure of the probe
   */
  static <T> T until(String what, Duration timeout, Duration interval, Probe<T> probe) {
    long deadline = System.nanoTime() + timeout.toNanos();
    Exception last = null;
    while (true) {
      try {
        T value = probe.attempt();
        if (value != null) {
          return value;
        }
      } catch (Abort abort) {
        throw new IllegalStateException(what + ": " + abort.getMessage(), last);
      } catch (Exception e) {
        last = e;
      }
      if (System.nanoTime() - deadline >= 0) {
        IllegalStateException timedOut = new IllegalStateException(
            "Timed out after " + timeout.toMillis() + " ms waiting for " + what
                + (last == null ? "" : "; last attempt failed with: " + last));
        if (last != null) {
          timedOut.initCause(last);
        }
        throw timedOut;
      }
      pause(interval);
    }
  }

  static void pause(Duration interval) {
    try {
      TimeUnit.NANOSECONDS.sleep(interval.toNanos());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while waiting", e);
    }
  }
}
