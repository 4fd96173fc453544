package dev.cacheaside.resilience;

import io.github.resilience4j.circuitbreaker.CallNotPermittedException;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import reactor.core.publisher.Mono;

/**
 * What every call of a {@link ResilientCacheStore} passes: a key's owed invalidation (reads of it
 * are held back), the circuit breaker (permission, then the outcome and duration of the call), and
 * the time limit (one {@link CallTimer} for all calls). The calls themselves are {@link MonoGuard}s.
 *
 * <h2>Evidence, not one slow call</h2>
 * The breaker decides on rates over its sliding window (failures, and calls slower than its
 * slow-call threshold); this class only reports each call once, honestly, with one exception: a
 * slow call during which the JVM itself lagged ({@link CallTimer#lagged}) is not reported, since
 * its time was lost here and says nothing about the store. Errors are always reported. A call cut
 * off by the time limit is an error; its limit is counted in timer ticks, which a lagging JVM
 * counts slower, so the limit stretches with the lag instead of firing because of it.
 */
final class Guard implements MonoGuard.Rules {
  private final CircuitBreaker breaker;
  private final CallTimer timer;
  private final Counters counters;
  private final InvalidationLog log;
  private final HeldBackException heldBack;
  private final Recovery recovery;
  private final int singleTicks;
  private final int bulkTicks;
  private final Duration singleLimit;
  private final Duration bulkLimit;
  private final TimeUnit unit;
  private final long slowNanos;

  Guard(CircuitBreaker breaker, CallTimer timer, Duration singleLimit, Duration bulkLimit,
      Counters counters, InvalidationLog log, HeldBackException heldBack,
      Recovery recovery) {
    this.breaker = breaker;
    this.timer = timer;
    this.counters = counters;
    this.log = log;
    this.heldBack = heldBack;
    this.recovery = recovery;
    this.singleLimit = singleLimit;
    this.bulkLimit = bulkLimit;
    this.singleTicks = timer.ticks(singleLimit);
    this.bulkTicks = timer.ticks(bulkLimit);
    this.unit = breaker.getTimestampUnit();
    this.slowNanos = breaker.getCircuitBreakerConfig().getSlowCallDurationThreshold().toNanos();
  }

  /** A call about one key, under the single-key time limit. */
  <T> Mono<T> call(Mono<T> call) {
    return new MonoGuard<>(call, this, singleTicks, null, false);
  }

  /** A read of one key: held back while the key's invalidation is owed, else {@link #call}. */
  <T> Mono<T> read(Mono<T> call, String key) {
    return new MonoGuard<>(call, this, singleTicks, key, false);
  }

  /**
   * A call about many keys (a window's multi-get, lease script or batched store, a replayed
   * delete), under the bulk time limit: a healthy call about 500 keys takes longer than one about
   * one key.
   */
  <T> Mono<T> callMany(Mono<T> call) {
    return new MonoGuard<>(call, this, bulkTicks, null, false);
  }

  /**
   * A call without a time limit: an invalidation, which must not be reported done, or queued, on a
   * guess. It waits for the store's answer, or for its caller to give up.
   */
  <T> Mono<T> untimed(Mono<T> call) {
    return new MonoGuard<>(call, this, MonoGuard.NO_LIMIT, null, false);
  }

  /**
   * {@code ping} as a background probe of a breaker that is not closed: sent only if the breaker
   * lets a call through now (an open breaker whose wait is over turns half-open), and then
   * reported like any call. Empty when the breaker let nothing through; not counted as skipped.
   *
   * @return whether a probe was sent and the store answered it
   */
  Mono<Boolean> probe(Mono<Void> ping) {
    return Mono.defer(() -> {
      if (!breaker.tryAcquirePermission()) {
        return Mono.just(false);
      }
      return new MonoGuard<>(ping, this, singleTicks, null, true).thenReturn(true);
    });
  }

  CircuitBreaker breaker() {
    return breaker;
  }

  @Override
  public CallTimer timer() {
    return timer;
  }

  Duration singleLimit() {
    return singleLimit;
  }

  Duration bulkLimit() {
    return bulkLimit;
  }

  /** The breaker's clock, so that durations are what its slow-call threshold is compared with. */
  @Override
  public long now() {
    return breaker.getCurrentTimestamp();
  }

  @Override
  public boolean holdsBack(String key) {
    return log.holdsBack(key);
  }

  @Override
  public HeldBackException heldBack() {
    counters.heldBackReads.increment();
    return heldBack;
  }

  @Override
  public boolean acquire() {
    return breaker.tryAcquirePermission();
  }

  /** The error of a call the breaker did not let through; counted, and recovery woken. */
  @Override
  public CallNotPermittedException notPermitted() {
    counters.skippedCalls.increment();
    recovery.wake();
    return CallNotPermittedException.createCallNotPermittedException(breaker);
  }

  /** The store answered (a value or empty). */
  @Override
  public void succeeded(long start, int sentTick) {
    long elapsed = now() - start;
    long nanos = unit.toNanos(elapsed);
    if (nanos < slowNanos) {
      breaker.onSuccess(elapsed, unit);
      return;
    }
    slow(elapsed, nanos, sentTick);
  }

  /** The store failed the call. */
  @Override
  public void failed(long start, Throwable e) {
    counters.failedCalls.increment();
    breaker.onError(now() - start, unit, e);
    recovery.wake();
  }

  /** The call outlived its time limit: reported as an error, and returned for its caller. */
  @Override
  public CallTimeoutException timedOut(long start) {
    counters.timeouts.increment();
    CallTimeoutException e = new CallTimeoutException(breaker.getName());
    breaker.onError(now() - start, unit, e);
    recovery.wake();
    return e;
  }

  /**
   * The caller gave up before any answer: the permission goes back, unless the call was already
   * slow, which a caller giving up on it does not make less true.
   */
  @Override
  public void cancelled(long start, int sentTick) {
    long elapsed = now() - start;
    long nanos = unit.toNanos(elapsed);
    if (nanos < slowNanos) {
      breaker.releasePermission();
      return;
    }
    slow(elapsed, nanos, sentTick);
  }

  private void slow(long elapsed, long nanos, int sentTick) {
    if (sentTick != MonoGuard.UNTIMED && timer.lagged(sentTick, nanos)) {
      // This JVM lost the time, not the store: nothing to hold against it.
      counters.slowCallsExcused.increment();
      breaker.releasePermission();
      return;
    }
    breaker.onSuccess(elapsed, unit);
    recovery.wake();
  }
}
