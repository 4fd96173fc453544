package dev.cacheaside.resilience;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cacheaside.core.CacheAside;
import dev.cacheaside.core.Codec;
import dev.cacheaside.core.spi.CacheStore;
import dev.cacheaside.core.spi.ForwardingCacheStore;
import dev.cacheaside.redis.RedisCacheStore;
import dev.cacheaside.testing.Poll;
import dev.cacheaside.testing.RedisExtension;
import dev.cacheaside.testing.RedisProxy;
import dev.cacheaside.testing.TestRedis;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.lettuce.core.RedisURI;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;
import reactor.test.scheduler.VirtualTimeScheduler;

/**
 * A Redis that stops answering, or a network that stops carrying commands, made with a
 * {@link RedisProxy} between one instance and a real Redis: the breaker opens on the rate of calls
 * cut off (not on the first), closes by itself once answers flow again though nobody reads, and a
 * delete held on its way is neither queued nor reported done, so another instance never reads the
 * old entry after the invalidation completed.
 */
@ExtendWith({RedisExtension.class, NoBlockingCalls.class})
class StalledRedisIT {
  private static final Duration WAIT = Duration.ofSeconds(30);

  private final Map<Integer, String> db = new ConcurrentHashMap<>();
  private RedisProxy proxy;
  private RedisCacheStore proxied;
  private RedisCacheStore direct;
  private ResilientCacheStore store;

  @BeforeEach
  void open(TestRedis redis) throws Exception {
    RedisURI uri = redis.uri();
    proxy = new RedisProxy(uri.getHost(), uri.getPort());
    proxied = RedisCacheStore.builder().uri("redis://127.0.0.1:" + proxy.port())
        .leaseEndNotifications(false).build();
    direct = RedisCacheStore.builder().uri(uri.toString()).build();
    for (int id = 0; id < 100; id++) {
      db.put(id, "v0-" + id);
    }
  }

  @AfterEach
  void close() throws Exception {
    proxy.releaseCommands();
    proxy.releaseReplies();
    if (store != null) {
      store.close();
    }
    proxied.close();
    direct.close();
    proxy.close();
  }

  private CacheAside<Integer, String> cache(CacheStore on) {
    return CacheAside.<Integer, String>builder("items").store(on).codec(Codec.utf8())
        // The instance behind the proxy must give up on nothing by itself here.
        .storeTimeout(Duration.ofMinutes(1))
        .build();
  }

  private static Mono<String> read(CacheAside<Integer, String> cache, Map<Integer, String> db,
      int id) {
    return cache.cacheAside(id, key -> Mono.fromSupplier(() -> db.get(key)));
  }

  /** Counts the reads that reach the store. */
  private static final class CountedReads extends ForwardingCacheStore {
    final AtomicInteger gets = new AtomicInteger();

    CountedReads(CacheStore delegate) {
      super(delegate);
    }

    @Override
    public Mono<byte[]> get(String key) {
      return super.get(key).doOnSubscribe(s -> gets.incrementAndGet());
    }
  }

  @Test
  void repliesStop_breakerOpensOnTheRateOfTimeouts_thenClosesWithoutReadsOnceTheyFlowAgain() {
    CountedReads counted = new CountedReads(proxied);
    store = ResilientCacheStore.builder(counted).ownsStore(false).build();
    CacheAside<Integer, String> items = cache(store);
    Flux.range(0, 100).flatMap(id -> read(items, db, id), 8).blockLast(WAIT);

    proxy.holdReplies();
    AtomicInteger next = new AtomicInteger();
    Poll.until("the breaker to open", WAIT, () -> {
      Flux.range(0, 8).flatMap(i -> read(items, db, next.getAndIncrement() % 100)
          .subscribeOn(Schedulers.parallel())).blockLast(WAIT);
      return store.circuitBreaker().getState() == CircuitBreaker.State.OPEN;
    });
    assertThat(store.stats().timeouts()).as("calls cut off before it opened")
        .isGreaterThanOrEqualTo(5);

    proxy.releaseReplies();
    int getsAtRelease = counted.gets.get();
    Poll.until("the breaker to close", WAIT,
        () -> store.circuitBreaker().getState() == CircuitBreaker.State.CLOSED);
    assertThat(counted.gets.get()).as("reads sent meanwhile: none, the probe closed it")
        .isEqualTo(getsAtRelease);
    assertThat(read(items, db, 1).block(WAIT)).isEqualTo("v0-1");
  }

  @Test
  void deleteHeldOnItsWay_isNeitherQueuedNorDone_soNoInstanceReadsTheOldEntryAfterIt() {
    VirtualTimeScheduler time = VirtualTimeScheduler.create();
    try {
      store = ResilientCacheStore.builder(proxied).ownsStore(false).scheduler(time).build();
      CacheAside<Integer, String> a = cache(store);
      CacheAside<Integer, String> b = cache(direct);
      assertThat(read(b, db, 7).block(WAIT)).isEqualTo("v0-7");
      assertThat(read(a, db, 7).block(WAIT)).as("a knows its generation").isEqualTo("v0-7");

      db.put(7, "v1-7");
      proxy.holdCommands();
      long sentBefore = proxy.commandBytesReceived();
      AtomicBoolean done = new AtomicBoolean();
      Disposable invalidation = a.invalidate(7).subscribe(null, e -> { }, () -> done.set(true));
      Poll.until("the delete to reach the proxy", WAIT,
          () -> proxy.commandBytesReceived() > sentBefore);
      // Far past every time limit of the resilient store: a limited call would have been cut
      // off, its delete queued and the invalidation reported done.
      time.advanceTimeBy(Duration.ofSeconds(10));
      assertThat(done).as("done before Redis has it").isFalse();
      assertThat(store.pendingInvalidations()).as("queued on a guess").isZero();
      assertThat(read(b, db, 7).block(WAIT)).as("not invalidated yet: the old entry")
          .isEqualTo("v0-7");

      proxy.releaseCommands();
      Poll.until("the invalidation", WAIT, done::get);
      assertThat(read(b, db, 7).block(WAIT)).as("read after the invalidation completed")
          .isEqualTo("v1-7");
      assertThat(store.stats().invalidationsQueued()).isZero();
      invalidation.dispose();
    } finally {
      time.dispose();
    }
  }
}
