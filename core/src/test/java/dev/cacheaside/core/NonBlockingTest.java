package dev.cacheaside.core;

import dev.cacheaside.core.spi.InMemoryCacheStore;
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

  @Test
  void bulkReadsMixedWithSingleKeyReadsAndInvalidations_onParallelThreads_neverBlock() {
    InMemoryCacheStore store = InMemoryCacheStore.create();
    CacheAside<Integer, String> cache = CacheAside.<Integer, String>builder("nb-bulk").store(store)
        .codec(Codec.utf8()).ttl(Duration.ofMillis(50)).staleGrace(Duration.ofSeconds(5))
        .bulkWindow(16, Duration.ofMillis(1)).bulkMaxLoadChunk(5).build();
    AtomicInteger loads = new AtomicInteger();
    BulkLoader<Integer, String> bulkLoader = keys -> {
      loads.incrementAndGet();
      if (keys.contains(13)) {
        return Mono.error(new IllegalStateException("db"));
      }
      return Mono.delay(Duration.ofMillis(1)).then(Mono.fromSupplier(() -> {
        java.util.Map<Integer, String> rows = new java.util.HashMap<>();
        keys.stream().filter(k -> k % 7 != 0).forEach(k -> rows.put(k, "v" + k));
        return rows;
      }));
    };
    Flux<?> work = Flux.range(0, 200)
        .flatMap(i -> {
          Flux<?> op = switch (i % 4) {
            case 0 -> cache.cacheAsideAll(Flux.range(i % 50, 40).delayElements(
                Duration.ofMillis(0), Schedulers.parallel()), bulkLoader);
            case 1 -> cache.cacheAsideAll(Flux.range(0, 60), bulkLoader, BulkOrder.REQUEST);
            // a single-key read may join a bulk chunk that fails on key 13
            case 2 -> cache.cacheAside(i % 50, k -> Mono.just("s" + k))
                .onErrorResume(e -> e.getMessage().equals("db"), e -> Mono.empty()).flux();
            default -> cache.invalidate(i % 50).flux();
          };
          return op.subscribeOn(Schedulers.parallel());
        }, 32);
    StepVerifier.create(work.then()).verifyComplete();
    assertThat(loads.get()).isPositive();
  }
}
