package dev.cacheaside.core;

import dev.cacheaside.core.spi.CacheStore;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;

/**
 * Waits for other callers' leases, for both read paths: a caller that found a key leased
 * elsewhere looks again until the value appears, the lease passes to it (expired or released), or
 * its wait budget ({@code leaseWait}) is spent, and then loads without storing.
 *
 * <p>Each look waits for the backoff step ({@code leaseBackoff}, doubling) or the store's word
 * that every lease waited for ended ({@link CacheStore#leaseEnded}), whichever comes first. The
 * word is watched from before the look that found the lease still held ({@link LeaseWatch}), so a
 * store made during that look is not missed; the first look is the read's own lookup, watched from
 * its answer only, since most misses are not contended and should not pay for a watch. A waiter
 * holds no watch through a load: the look that ends the wait ends its watch first. Timers run on
 * the cache's scheduler.
 */
final class LeaseWaiter {
  /**
   * What a read path does while it waits: {@code S} is what it waits for (a read, a bulk slot),
   * {@code T} what it emits.
   */
  interface Waiter<S, T> {
    /** The store key whose lease {@code item} waits for. */
    String storeKey(S item);

    /**
     * Looks at {@code items} again (one {@code getOrLease} round trip) and answers those no
     * longer contended; those still contended go to {@link Next#waitOn}, and when none is,
     * {@link Next#done} is called before anything is loaded.
     */
    Flux<T> lookAgain(List<S> items, Next<S, T> next);

    /** The wait budget is spent: answer {@code items} without a lease (load, store nothing). */
    Flux<T> giveUp(List<S> items);
  }

  /** How a look again goes on. */
  interface Next<S, T> {
    /** Waits on for {@code contended}, the items the look found still leased elsewhere. */
    Flux<T> waitOn(List<S> contended);

    /** Nothing is contended any more: ends the watch (idempotent). */
    void done();
  }

  private final CacheStore store;
  private final Scheduler scheduler;
  private final long waitMillis;
  private final long backoffMinMillis;
  private final long backoffMaxMillis;
  private final StatsCounter stats;

  LeaseWaiter(CacheSettings<?, ?> settings, StatsCounter stats) {
    this.store = settings.store();
    this.scheduler = settings.scheduler();
    this.waitMillis = settings.leaseWait().toMillis();
    this.backoffMinMillis = settings.leaseBackoffMin().toMillis();
    this.backoffMaxMillis = settings.leaseBackoffMax().toMillis();
    this.stats = stats;
  }

  /**
   * Waits for the leases of {@code items}, which a first look found held elsewhere (counted as
   * lease waits), within the wait budget from now.
   */
  <S, T> Flux<T> await(List<S> items, Waiter<S, T> waiter) {
    stats.leaseWaits.add(items.size());
    long now = now();
    long deadline = now + waitMillis;
    if (now >= deadline) {
      return waiter.giveUp(items);
    }
    List<String> keys = keys(items, waiter);
    return Flux.using(() -> new LeaseWatch(store, keys),
        watch -> sleep(items, keys, deadline, backoffMinMillis, watch, waiter),
        LeaseWatch::dispose);
  }

  /**
   * One step: waits {@code delayMillis} or until {@code watch} saw every lease end, then looks
   * again under a new watch, made before the look is sent.
   */
  private <S, T> Flux<T> sleep(List<S> items, List<String> keys, long deadline, long delayMillis,
      LeaseWatch watch, Waiter<S, T> waiter) {
    if (now() >= deadline) {
      watch.dispose();
      return waiter.giveUp(items);
    }
    long next = Math.min(delayMillis * 2, backoffMaxMillis);
    return wakeUp(delayMillis, watch, keys).thenMany(Flux.using(() -> {
      watch.dispose();
      return new LeaseWatch(store, keys);
    }, nextWatch -> waiter.lookAgain(items, new Next<>() {
      @Override
      public Flux<T> waitOn(List<S> contended) {
        return sleep(contended, keys(contended, waiter), deadline, next, nextWatch, waiter);
      }

      @Override
      public void done() {
        nextWatch.dispose();
      }
    }), LeaseWatch::dispose));
  }

  /**
   * Completes after {@code delayMillis} on the cache's scheduler, or sooner when {@code watch}
   * saw the leases on all of {@code keys} end; a step cut short is counted as a wake-up.
   */
  private Mono<Void> wakeUp(long delayMillis, LeaseWatch watch, List<String> keys) {
    Mono<Boolean> timer = Mono.delay(Duration.ofMillis(delayMillis), scheduler).map(tick -> false);
    // The watch first: when it has already seen the end, the race is won before the timer is
    // even scheduled.
    return Mono.firstWithSignal(watch.ended(keys).thenReturn(true), timer)
        .doOnNext(woken -> {
          if (woken) {
            stats.leaseWakeups.increment();
          }
        })
        .then();
  }

  private static <S> List<String> keys(List<S> items, Waiter<S, ?> waiter) {
    List<String> keys = new ArrayList<>(items.size());
    items.forEach(item -> keys.add(waiter.storeKey(item)));
    return keys;
  }

  private long now() {
    return scheduler.now(TimeUnit.MILLISECONDS);
  }
}
