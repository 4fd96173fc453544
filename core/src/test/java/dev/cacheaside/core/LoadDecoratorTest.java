package dev.cacheaside.core;

import dev.cacheaside.core.spi.InMemoryCacheStore;
import dev.cacheaside.testing.MutableClock;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.test.StepVerifier;

/** The {@link LoadDecorator} hook: once per load, never on a hit, before the loader runs. */
class LoadDecoratorTest {
  private final MutableClock clock = new MutableClock();
  private final InMemoryCacheStore store = InMemoryCacheStore.builder().clock(clock).build();

  /** Holds every load back until {@link #open} fires, and counts the loads it decorated. */
  private static final class Gate implements LoadDecorator {
    final Sinks.Empty<Void> open = Sinks.empty();
    final AtomicInteger decorated = new AtomicInteger();

    @Override
    public <T> Mono<T> decorate(Mono<T> load) {
      decorated.incrementAndGet();
      return open.asMono().then(load);
    }
  }

  private CacheAsideBuilder<String, String> builder(LoadDecorator decorator) {
    return CacheAside.<String, String>builder("t").store(store).codec(Codec.utf8()).clock(clock)
        .loadDecorator(decorator);
  }

  @Test
  void miss_loaderCalledOnlyOnceTheDecoratorSubscribes() {
    Gate gate = new Gate();
    CacheAside<String, String> cache = builder(gate).build();
    AtomicInteger calls = new AtomicInteger();
    StepVerifier.create(cache.cacheAside("k", key -> {
          calls.incrementAndGet();
          return Mono.just("v");
        }))
        .then(() -> assertThat(calls).as("loader calls while held back").hasValue(0))
        .then(() -> gate.open.tryEmitEmpty())
        .expectNext("v")
        .verifyComplete();
    assertThat(calls).hasValue(1);
    assertThat(gate.decorated).hasValue(1);

    gate.decorated.set(0);
    StepVerifier.create(cache.cacheAside("k", key -> Mono.just("other")))
        .as("a hit does not go through the decorator").expectNext("v").verifyComplete();
    assertThat(gate.decorated).hasValue(0);
  }

  @Test
  void decoratorFails_isALoadFailure_nothingCached() {
    LoadDecorator failing = new LoadDecorator() {
      @Override
      public <T> Mono<T> decorate(Mono<T> load) {
        return Mono.error(new IllegalStateException("bulkhead full"));
      }
    };
    CacheAside<String, String> cache = builder(failing).build();
    StepVerifier.create(cache.cacheAside("k", key -> Mono.just("v")))
        .expectErrorMessage("bulkhead full").verify(Duration.ofSeconds(5));
    assertThat(cache.stats().loadFailures()).isEqualTo(1);
    StepVerifier.create(store.get("t:k")).as("nothing cached").verifyComplete();
  }

  @Test
  void decoratorFails_staleWithinGrace_isServed() {
    AtomicInteger failures = new AtomicInteger();
    LoadDecorator failAfterFirst = new LoadDecorator() {
      @Override
      public <T> Mono<T> decorate(Mono<T> load) {
        return failures.getAndIncrement() == 0 ? load
            : Mono.error(new IllegalStateException("bulkhead full"));
      }
    };
    CacheAside<String, String> cache = builder(failAfterFirst).ttl(Duration.ofSeconds(10))
        .staleGrace(Duration.ofSeconds(5)).build();
    StepVerifier.create(cache.cacheAside("k", key -> Mono.just("v1"))).expectNext("v1")
        .verifyComplete();
    clock.advance(Duration.ofSeconds(12));
    StepVerifier.create(cache.cacheAside("k", key -> Mono.just("v2")))
        .as("stale-if-error").expectNext("v1").verifyComplete();
    assertThat(cache.stats().staleHits()).isEqualTo(1);
  }

  @Test
  void decoratorThrowsOrReturnsNull_failsTheLoadWithItsError() {
    LoadDecorator throwing = new LoadDecorator() {
      @Override
      public <T> Mono<T> decorate(Mono<T> load) {
        throw new IllegalArgumentException("broken decorator");
      }
    };
    StepVerifier.create(builder(throwing).build().cacheAside("k", key -> Mono.just("v")))
        .expectErrorMessage("broken decorator").verify(Duration.ofSeconds(5));
    LoadDecorator nulls = new LoadDecorator() {
      @Override
      @SuppressWarnings("NullAway")
      public <T> Mono<T> decorate(Mono<T> load) {
        return null;
      }
    };
    StepVerifier.create(builder(nulls).build().cacheAside("k", key -> Mono.just("v")))
        .expectErrorMessage("cache 't': load decorator returned null")
        .verify(Duration.ofSeconds(5));
  }

  @Test
  void loadDecorator_null_rejected() {
    assertThatThrownBy(() -> CacheAside.<String, String>builder("t").loadDecorator(null))
        .isInstanceOf(NullPointerException.class).hasMessage("loadDecorator must not be null");
  }
}
