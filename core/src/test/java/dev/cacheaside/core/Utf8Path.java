package dev.cacheaside.core;

import static java.nio.charset.StandardCharsets.UTF_8;

import dev.cacheaside.core.Entries.Decoded;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Mono;

/**
 * A {@link ReadFlight} path for tests of the operator alone: the bytes found are a fresh value,
 * read as UTF-8 (no envelope); a miss ends with {@code missEnds}; a stale entry is not expected.
 */
record Utf8Path(Mono<Outcome<String>> missEnds) implements ReadFlight.Path<String, String> {
  @Override
  public Decoded<String> decode(Read<String, String> read, byte[] bytes) {
    return new Decoded<>(Decoded.State.FRESH, new String(bytes, UTF_8), null);
  }

  @Override
  public Outcome<String> fresh(Read<String, String> read, Decoded<String> decoded) {
    return decoded.outcome();
  }

  @Override
  public Mono<Outcome<String>> miss(Read<String, String> read, @Nullable Throwable storeError) {
    return missEnds;
  }

  @Override
  public Mono<Outcome<String>> notFresh(Read<String, String> read, Decoded<String> decoded) {
    return Mono.error(new AssertionError("no stale entry expected"));
  }
}
