package dev.cacheaside.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import reactor.blockhound.BlockingOperationError;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;
import reactor.test.StepVerifier;

/** BlockHound is installed in this JVM (blockhound-junit-platform) and the core paths pass it. */
class NonBlockingTest {

  @Test
  void blockHound_isInstalled_andCatchesASleepOnAParallelThread() {
    StepVerifier.create(Mono.fromCallable(() -> {
      Thread.sleep(1);
      return 1;
    }).subscribeOn(Schedulers.parallel()))
        .expectError(BlockingOperationError.class)
        .verify(Duration.ofSeconds(5));
  }

  @Test
  void readMissNegativeInvalidateStaleAndLeaseWait_onParallelThreads_neverBlock() {
    InMemoryCacheStore store = InMemoryCacheStore.create();
    CacheAside<Integer, String> a = CacheAside.<Integer, String>builder("nb").store(store)
        .codec(Codec.utf8()).ttl(Duration.ofMillis(50)).staleGrace(Duration.ofSeconds(5)).build();
    CacheAside<Integer, String> b = CacheAside.<Integer, String>builder("nb").store(store)
        .codec(Codec.utf8()).ttl(Duration.ofMillis(50)).staleGrace(Duration.ofSeconds(5)).build();
    AtomicInteger loads = new AtomicInteger();
    Flux<String> work = Flux.range(0, 2_000)
        .flatMap(i -> {
          CacheAside<Integer, String> cache = i % 2 == 0 ? a : b;
          int key = i % 50;
          Mono<String> read = cache.cacheAside(key, k -> {
            loads.incrementAndGet();
            return k % 7 == 0 ? Mono.empty()
                : Mono.delay(Duration.ofMillis(1)).thenReturn("v" + k);
          });
          Mono<String> op = i % 13 == 0 ? cache.invalidate(key).then(read)
              : i % 17 == 0 ? cache.writeThenInvalidate(key, Mono.just("w")) : read;
          return op.subscribeOn(Schedulers.parallel());
        }, 64);
    StepVerifier.create(work.then()).verifyComplete();
    assertThat(loads.get()).isPositive();
  }
}
