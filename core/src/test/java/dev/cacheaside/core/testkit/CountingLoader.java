package dev.cacheaside.core.testkit;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import reactor.core.publisher.Mono;

/** A single-key loader that counts its calls and answers {@code "value-of-" + key} at once. */
public final class CountingLoader implements Function<String, Mono<String>> {
  /** Calls so far. */
  public final AtomicInteger calls = new AtomicInteger();

  /** A loader that has not been called. */
  public CountingLoader() {}

  @Override
  public Mono<String> apply(String key) {
    calls.incrementAndGet();
    return Mono.just("value-of-" + key);
  }
}
