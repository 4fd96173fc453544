package dev.cacheaside.r2dbc;

import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.ConnectionFactoryMetadata;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Mono;

/**
 * Decorates a real connection factory: counts the statements created on its connections (how a
 * test knows how many queries reached the real PostgreSQL behind it), and lets a test wrap each
 * commit (to hold a caller inside a commit that the server has already done).
 */
final class InterceptingConnectionFactory implements ConnectionFactory {
  private final ConnectionFactory delegate;
  final AtomicInteger statements = new AtomicInteger();
  volatile UnaryOperator<Mono<Void>> onCommit = UnaryOperator.identity();

  InterceptingConnectionFactory(ConnectionFactory delegate) {
    this.delegate = delegate;
  }

  @Override
  public Publisher<? extends Connection> create() {
    return Mono.<Connection>from(delegate.create()).map(this::intercepting);
  }

  @Override
  public ConnectionFactoryMetadata getMetadata() {
    return delegate.getMetadata();
  }

  @SuppressWarnings("unchecked")
  private Connection intercepting(Connection connection) {
    return (Connection) Proxy.newProxyInstance(Connection.class.getClassLoader(),
        new Class<?>[] {Connection.class}, (proxy, method, args) -> {
          if (method.getName().equals("createStatement")) {
            statements.incrementAndGet();
          }
          Object result;
          try {
            result = method.invoke(connection, args);
          } catch (InvocationTargetException e) {
            throw e.getCause();
          }
          if (method.getName().equals("commitTransaction")) {
            return onCommit.apply(Mono.from((Publisher<Void>) result));
          }
          return result;
        });
  }
}
