package dev.cacheaside.r2dbc;

import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.ConnectionFactoryMetadata;
import java.util.concurrent.atomic.AtomicInteger;
import org.jspecify.annotations.Nullable;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;

/**
 * Decorates a real connection factory so a test controls when new connections may be made: while
 * {@link #close() closed}, {@code create()} waits until {@link #open()}; {@link #failNext} makes
 * the next creations fail. How a test holds a listener away from the database for as long as it
 * needs, to force the interleaving it checks.
 */
final class GatedConnectionFactory implements ConnectionFactory {
  private final ConnectionFactory delegate;
  private volatile Sinks.@Nullable Empty<Void> gate;
  final AtomicInteger failNext = new AtomicInteger();
  final AtomicInteger created = new AtomicInteger();
  final AtomicInteger waiting = new AtomicInteger();

  GatedConnectionFactory(ConnectionFactory delegate) {
    this.delegate = delegate;
  }

  void close() {
    gate = Sinks.empty();
  }

  void open() {
    Sinks.Empty<Void> g = gate;
    gate = null;
    if (g != null) {
      g.tryEmitEmpty();
    }
  }

  @Override
  public Publisher<? extends Connection> create() {
    return Mono.defer(() -> {
      if (failNext.getAndUpdate(n -> n > 0 ? n - 1 : 0) > 0) {
        return Mono.error(new IllegalStateException("injected: the database is unreachable"));
      }
      Sinks.Empty<Void> g = gate;
      Mono<Void> wait = g == null ? Mono.empty()
          : g.asMono().doOnSubscribe(s -> waiting.incrementAndGet())
              .doFinally(s -> waiting.decrementAndGet());
      return wait.then(Mono.<Connection>from(delegate.create()))
          .doOnNext(c -> created.incrementAndGet());
    });
  }

  @Override
  public ConnectionFactoryMetadata getMetadata() {
    return delegate.getMetadata();
  }
}
