package dev.cacheaside.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cacheaside.core.spi.InMemoryCacheStore;
import java.util.concurrent.atomic.AtomicLong;
import org.reactivestreams.Publisher;
import org.reactivestreams.tck.PublisherVerification;
import org.reactivestreams.tck.TestEnvironment;
import reactor.core.publisher.Mono;

/**
 * The Reactive Streams TCK on {@link CacheAsideCall}, the Mono that {@code cacheAside(key,
 * loader)} returns: at most one element. One element is a value (loaded by the first
 * subscription, a hit for later ones); none is "not found" (the loader completes empty); the
 * failed publisher is a loader that fails. Each publisher reads a key of its own.
 *
 * <p>TestNG, run by the JUnit Platform's TestNG engine in the same JVM as every other test, with
 * BlockHound installed.
 */
public class CacheAsideCallTckTest extends PublisherVerification<String> {
  private final CacheAside<String, String> cache = CacheAside.<String, String>builder("tck")
      .store(InMemoryCacheStore.create()).codec(Codec.utf8()).build();
  private final AtomicLong keys = new AtomicLong();

  /** Called by TestNG. */
  public CacheAsideCallTckTest() {
    // Waits for an expected signal up to 2 s (a loaded machine); "no signal" windows of 100 ms.
    super(new TestEnvironment(2_000, 100));
  }

  private Mono<String> call(Mono<String> load) {
    Mono<String> call = cache.cacheAside(Long.toString(keys.incrementAndGet()), key -> load);
    assertThat(call).as("the hand-written publisher, not a wrapper")
        .isInstanceOf(CacheAsideCall.class);
    return call;
  }

  @Override
  public Publisher<String> createPublisher(long elements) {
    return call(elements == 1 ? Mono.just("v") : Mono.empty());
  }

  @Override
  public Publisher<String> createFailedPublisher() {
    return call(Mono.error(new IllegalStateException("the load failed")));
  }

  @Override
  public long maxElementsFromPublisher() {
    return 1;
  }
}
