package dev.cacheaside.testing;

import java.time.Clock;
import java.time.Duration;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import reactor.test.scheduler.VirtualTimeScheduler;

/**
 * Virtual time for a test: one {@link VirtualTimeScheduler} for every timer (give it to the
 * cache's {@code scheduler}, to {@code Mono.delay}, to {@code StepVerifier.withVirtualTime}) and a
 * wall {@link #clock()} read from it, for entries, leases and stores, so everything moves together
 * when the test advances time. Disposed after each test.
 *
 * <pre>{@code
 * @RegisterExtension
 * final VirtualTime virtual = new VirtualTime();
 *
 * @Test
 * void lease_expires() {
 *   InMemoryCacheStore store = InMemoryCacheStore.builder().clock(virtual.clock()).build();
 *   ...
 *   virtual.scheduler().advanceTimeBy(Duration.ofSeconds(5));
 * }
 * }</pre>
 */
public final class VirtualTime implements AfterEachCallback {
  private final VirtualTimeScheduler scheduler = VirtualTimeScheduler.create();
  private final Clock clock = new SchedulerClock(scheduler);

  /** A scheduler at virtual time 0 and its clock. */
  public VirtualTime() {}

  /** The scheduler whose time the test moves. */
  public VirtualTimeScheduler scheduler() {
    return scheduler;
  }

  /** A UTC wall clock at the scheduler's time. */
  public Clock clock() {
    return clock;
  }

  /** Moves virtual time on by {@code duration}, running the work that falls due. */
  public void advance(Duration duration) {
    scheduler.advanceTimeBy(duration);
  }

  @Override
  public void afterEach(ExtensionContext context) {
    scheduler.dispose();
  }
}
