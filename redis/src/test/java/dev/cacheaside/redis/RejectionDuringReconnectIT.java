package dev.cacheaside.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cacheaside.core.CacheAside;
import dev.cacheaside.core.Codec;
import dev.cacheaside.core.spi.CacheStore;
import dev.cacheaside.core.spi.ForwardingCacheStore;
import dev.cacheaside.testing.Poll;
import dev.cacheaside.testing.ReadTally;
import dev.cacheaside.testing.RedisExtension;
import dev.cacheaside.testing.TestRedis;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.reactivestreams.Subscription;
import reactor.core.CoreSubscriber;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.util.context.Context;

/**
 * Issue 14's deadlock, against a real Redis: Lettuce, disconnected and set to reject commands
 * ({@code REJECT_COMMANDS}, as {@code RedisCacheStore.builder().uri(..)} sets it), rejects a
 * command synchronously, inside the write that sent it; a cache that sent its next store call
 * from inside that rejection re-entered Lettuce's endpoint lock while the reconnect on the event
 * loop waited for the writers to drain, and every command hung from then on. Here Redis is killed
 * and restarted three times under a steady read load, so that rejections on the caller's stack
 * (counted) go on while each reconnect runs; every read carries its own timeout, and every one
 * must be answered, by the cache or the loader.
 */
@ExtendWith(RedisExtension.class)
class RejectionDuringReconnectIT {
  private static final Duration READ_TIMEOUT = Duration.ofSeconds(10);
  private static final Duration BOUND = Duration.ofSeconds(30);
  private static final int KEYS = 200;

  private RedisCacheStore redisStore;

  @AfterEach
  void close() {
    if (redisStore != null) {
      redisStore.close();
    }
  }

  /** Counts the store calls whose error came on the caller's stack, inside its subscribe. */
  static final class StackWatch extends ForwardingCacheStore {
    final LongAdder rejectedOnTheCallersStack = new LongAdder();

    StackWatch(CacheStore delegate) {
      super(delegate);
    }

    @Override
    protected <T> Mono<T> around(Operation operation, Mono<T> call) {
      return new Mono<T>() {
        @Override
        public void subscribe(CoreSubscriber<? super T> actual) {
          Watched<T> watched = new Watched<>(actual, rejectedOnTheCallersStack);
          watched.subscribing = Thread.currentThread();
          try {
            call.subscribe(watched);
          } finally {
            watched.subscribing = null;
          }
        }
      };
    }
  }

  private static final class Watched<T> implements CoreSubscriber<T> {
    private final CoreSubscriber<? super T> actual;
    private final LongAdder onStack;
    volatile Thread subscribing;

    Watched(CoreSubscriber<? super T> actual, LongAdder onStack) {
      this.actual = actual;
      this.onStack = onStack;
    }

    @Override
    public Context currentContext() {
      return actual.currentContext();
    }

    @Override
    public void onSubscribe(Subscription s) {
      actual.onSubscribe(s);
    }

    @Override
    public void onNext(T value) {
      actual.onNext(value);
    }

    @Override
    public void onError(Throwable e) {
      if (subscribing == Thread.currentThread()) {
        onStack.increment();
      }
      actual.onError(e);
    }

    @Override
    public void onComplete() {
      actual.onComplete();
    }
  }

  @Test
  void redisKilledAndRestartedUnderLoad_rejectionsOnTheCallersStack_noReadHangs(TestRedis redis) {
    redisStore = RedisCacheStore.builder().uri(redis.uri().toString()).build();
    StackWatch store = new StackWatch(redisStore);
    CacheAside<Integer, String> items = CacheAside.<Integer, String>builder("items")
        .store(store).codec(Codec.utf8()).build();
    ReadTally reads = new ReadTally(READ_TIMEOUT);
    AtomicLong next = new AtomicLong();
    AtomicBoolean running = new AtomicBoolean(true);
    AtomicBoolean ended = new AtomicBoolean();
    // Closed loop, 64 reads at a time on the parallel threads, each with its own timeout: while
    // Redis is away, both threads spend most of their time inside Lettuce's rejections, so a
    // reconnect's activation finds writers inside the endpoint.
    Disposable load = Flux.<Integer>generate(sink -> sink.next(0))
        .takeWhile(tick -> running.get())
        .flatMap(tick -> {
          int id = (int) (next.getAndIncrement() % KEYS);
          return reads.read(items.cacheAside(id, key -> Mono.just("v" + key)));
        }, 64)
        .doFinally(signal -> ended.set(true))
        .subscribe();
    try {
      // Warm: the cache knows its generation and holds the keys, so reads go to Redis.
      Poll.until("hits before the first kill", BOUND, () -> items.stats().hits() >= 200);
      for (int cycle = 0; cycle < 3; cycle++) {
        long rejectedBefore = store.rejectedOnTheCallersStack.sum();
        redis.stop();
        Poll.until("commands rejected on the caller's stack", BOUND,
            () -> store.rejectedOnTheCallersStack.sum() >= rejectedBefore + 50);
        redis.start();
        // Rejections go on until the reconnect completes; then the cache fills and hits again.
        long hitsBefore = items.stats().hits();
        Poll.until("hits after the restart", BOUND,
            () -> items.stats().hits() >= hitsBefore + 200);
      }
    } finally {
      running.set(false);
    }
    // Reads under way end by themselves: every one has an answer or its own timeout.
    Poll.until("every read issued to end", BOUND, ended::get);
    assertThat(reads.failed.sum()).as("reads that failed or got no answer within %s",
        READ_TIMEOUT).isZero();
    assertThat(reads.answered.sum()).as("answered, of %d issued", reads.issued.sum())
        .isEqualTo(reads.issued.sum());
    assertThat(store.rejectedOnTheCallersStack.sum()).isGreaterThanOrEqualTo(150);
  }
}
