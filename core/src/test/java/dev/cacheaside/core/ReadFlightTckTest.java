package dev.cacheaside.core;

import static java.nio.charset.StandardCharsets.UTF_8;

import dev.cacheaside.core.spi.InMemoryCacheStore;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.reactivestreams.Publisher;
import org.reactivestreams.tck.PublisherVerification;
import org.reactivestreams.tck.TestEnvironment;
import reactor.core.publisher.Mono;

/**
 * The Reactive Streams TCK on {@link ReadFlight}, the shared read behind every single-key read:
 * a Mono, so at most one element. One element is a fresh hit (the operator's own fast path, no
 * slow path involved); none is a miss whose slow path completes empty; the failed publisher is a
 * miss whose slow path fails. Each publisher is a new flight on its own key, subscribed as often as
 * the TCK likes (a flight replays its outcome to late subscribers).
 *
 * <p>TestNG, run by the JUnit Platform's TestNG engine in the same JVM as every other test, with
 * BlockHound installed.
 */
public class ReadFlightTckTest extends PublisherVerification<Outcome<String>> {
  private final InMemoryCacheStore store = InMemoryCacheStore.create();
  private final AtomicLong keys = new AtomicLong();

  /** Called by TestNG. */
  public ReadFlightTckTest() {
    // Waits for an expected signal up to 2 s (a loaded machine); "no signal" windows of 100 ms.
    super(new TestEnvironment(2_000, 100));
  }

  private ReadFlight<String, String> flight(boolean present, Mono<Outcome<String>> missEnds) {
    String key = "tck:" + keys.incrementAndGet();
    if (present) {
      store.set(key, ("value of " + key).getBytes(UTF_8), Duration.ofMinutes(5)).block();
    }
    return new ReadFlight<>(ReadFlightTest.env(store),
        new Read<>(key, key, k -> Mono.error(new AssertionError("the path answers misses"))),
        new Utf8Path(missEnds), () -> { }, null);
  }

  @Override
  public Publisher<Outcome<String>> createPublisher(long elements) {
    return flight(elements == 1, Mono.empty());
  }

  @Override
  public Publisher<Outcome<String>> createFailedPublisher() {
    return flight(false, Mono.error(new IllegalStateException("the load failed")));
  }

  @Override
  public long maxElementsFromPublisher() {
    return 1;
  }
}
