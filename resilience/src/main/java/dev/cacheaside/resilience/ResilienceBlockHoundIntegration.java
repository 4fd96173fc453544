package dev.cacheaside.resilience;

import reactor.blockhound.BlockHound;
import reactor.blockhound.integration.BlockHoundIntegration;

/**
 * Tells BlockHound (when an application or test installs it) which waits inside Resilience4j are
 * short critical sections, not blocking I/O. Loaded by BlockHound's service loader; BlockHound is
 * an optional dependency and this class is never touched without it.
 *
 * <p>Resilience4j guards a few in-memory updates with a {@code ReentrantLock}, which parks a
 * thread under contention: the circuit breaker's move from open to half-open, and the sliding
 * windows of the {@code SYNCHRONIZED} strategy (the defaults here use the lock-free one, but a
 * breaker given by the user may not). Each holds the lock for a few field updates.
 *
 * @since 0.1
 */
public final class ResilienceBlockHoundIntegration implements BlockHoundIntegration {
  /** Used by the service loader. */
  public ResilienceBlockHoundIntegration() {}

  @Override
  public void applyTo(BlockHound.Builder builder) {
    builder.allowBlockingCallsInside(
        "io.github.resilience4j.circuitbreaker.internal.CircuitBreakerStateMachine$OpenState",
        "toHalfOpenState");
    for (String window : new String[] {
        "io.github.resilience4j.core.metrics.FixedSizeSlidingWindowMetrics",
        "io.github.resilience4j.core.metrics.SlidingTimeWindowMetrics"}) {
      builder.allowBlockingCallsInside(window, "record");
      builder.allowBlockingCallsInside(window, "getSnapshot");
    }
  }
}
