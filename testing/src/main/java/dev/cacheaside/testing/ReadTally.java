package dev.cacheaside.testing;

import java.time.Duration;
import java.util.concurrent.atomic.LongAdder;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

/**
 * The reads of a load test that must see every read answered (a Redis killed and restarted under
 * load): each read is issued on a parallel thread, bounded by its own timeout, and counted as
 * issued, then as answered or failed (an error, or no answer within the timeout). A tallied read
 * never errors, so one failure does not end the load.
 */
public final class ReadTally {
  /** Reads issued. */
  public final LongAdder issued = new LongAdder();
  /** Reads that ended with a value or empty. */
  public final LongAdder answered = new LongAdder();
  /** Reads that failed, or got no answer within their timeout. */
  public final LongAdder failed = new LongAdder();
  private final Duration timeout;

  /** Tallies reads bounded by {@code timeout} each. */
  public ReadTally(Duration timeout) {
    this.timeout = timeout;
  }

  /** {@code read}, issued now and counted; subscribed on a parallel thread; never errors. */
  public <T> Mono<T> read(Mono<T> read) {
    issued.increment();
    return read.subscribeOn(Schedulers.parallel())
        .timeout(timeout)
        .doOnSuccess(v -> answered.increment())
        .onErrorResume(e -> {
          failed.increment();
          return Mono.empty();
        });
  }
}
