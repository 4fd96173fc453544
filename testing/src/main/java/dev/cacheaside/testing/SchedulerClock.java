package dev.cacheaside.testing;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.concurrent.TimeUnit;
import reactor.core.scheduler.Scheduler;

/**
 * A UTC wall clock read from a Reactor {@link Scheduler}'s {@code now}: with a
 * {@code VirtualTimeScheduler}, entries, leases and timers move together when a test advances
 * virtual time.
 */
public final class SchedulerClock extends Clock {
  private final Scheduler scheduler;

  /** A clock that reads {@code scheduler.now(MILLISECONDS)}. */
  public SchedulerClock(Scheduler scheduler) {
    this.scheduler = scheduler;
  }

  @Override
  public long millis() {
    return scheduler.now(TimeUnit.MILLISECONDS);
  }

  @Override
  public Instant instant() {
    return Instant.ofEpochMilli(millis());
  }

  @Override
  public ZoneId getZone() {
    return ZoneOffset.UTC;
  }

  @Override
  public Clock withZone(ZoneId zone) {
    throw new UnsupportedOperationException("a test clock is UTC only");
  }
}
