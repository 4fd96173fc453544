package dev.cacheaside.resilience;

import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import java.time.Duration;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;
import reactor.core.Disposable;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;
import reactor.util.Logger;
import reactor.util.Loggers;

/**
 * Probes the store in the background while the circuit breaker is open or half-open, so that it
 * closes when the store is back whether or not reads come: an idle instance's breaker would
 * otherwise stay half-open until its next reads, and a cache whose breaker never closes is never
 * read again.
 *
 * <p>Every {@code interval} it asks the breaker for a call; an open breaker whose wait is over
 * turns half-open and lets the probe (a {@code ping}) through, and its outcome is reported like any
 * call's. While the breaker stays half-open after an answered probe the next one goes at once, so
 * it closes in as many round trips as it wants probes. It stops when the breaker is closed (or
 * disabled, or forced open: a state the application set is the application's to undo), and is
 * woken again by the next failure, slow call or refused call ({@link #wake}).
 */
final class Recovery implements Disposable {
  private static final Logger LOG = Loggers.getLogger(Recovery.class);

  private final CircuitBreaker breaker;
  private final Supplier<Mono<Boolean>> probe;
  private final long intervalNanos;
  private final Scheduler scheduler;
  private final String name;
  private final AtomicBoolean running = new AtomicBoolean();
  private volatile boolean disposed;

  /**
   * @param probe one probe: emits whether it was sent and answered; sends nothing when the breaker
   *     lets no call through
   */
  Recovery(String name, CircuitBreaker breaker, Supplier<Mono<Boolean>> probe, Duration interval,
      Scheduler scheduler) {
    this.name = name;
    this.breaker = breaker;
    this.probe = probe;
    this.intervalNanos = interval.toNanos();
    this.scheduler = scheduler;
  }

  /** Starts probing if the breaker is open or half-open and nothing probes yet; cheap. */
  void wake() {
    if (!disposed && wanted(breaker.getState()) && running.compareAndSet(false, true)) {
      later();
    }
  }

  private static boolean wanted(CircuitBreaker.State state) {
    return state == CircuitBreaker.State.OPEN || state == CircuitBreaker.State.HALF_OPEN;
  }

  private void later() {
    try {
      Disposable unused = scheduler.schedule(this::step, intervalNanos, TimeUnit.NANOSECONDS);
    } catch (RejectedExecutionException shutDown) {
      running.set(false);
    }
  }

  private void step() {
    if (disposed || !wanted(breaker.getState())) {
      running.set(false);
      // A transition may have come between the look and the flag: look once more.
      wake();
      return;
    }
    Disposable unused = probe.get().subscribe(
        answered -> {
          if (answered && breaker.getState() == CircuitBreaker.State.HALF_OPEN) {
            step();
          } else {
            later();
          }
        },
        e -> {
          LOG.debug("cache store '{}': background probe failed: {}", name, e.toString());
          later();
        });
  }

  @Override
  public void dispose() {
    disposed = true;
  }

  @Override
  public boolean isDisposed() {
    return disposed;
  }
}
