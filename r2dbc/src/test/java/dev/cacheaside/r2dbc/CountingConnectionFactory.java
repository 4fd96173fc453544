package dev.cacheaside.r2dbc;

import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.ConnectionFactoryMetadata;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.concurrent.atomic.AtomicInteger;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Mono;

/**
 * Decorates a real connection factory to count the statements created on its connections: how a
 * test knows how many queries a loader sent to the real PostgreSQL behind it.
 */
final class CountingConnectionFactory implements ConnectionFactory {
  private final ConnectionFactory delegate;
  final AtomicInteger statements = new AtomicInteger();

  CountingConnectionFactory(ConnectionFactory delegate) {
    this.delegate = delegate;
  }

  @Override
  public Publisher<? extends Connection> create() {
    return Mono.<Connection>from(delegate.create()).map(this::counting);
  }

  @Override
  public ConnectionFactoryMetadata getMetadata() {
    return delegate.getMetadata();
  }

  private Connection counting(Connection connection) {
    return (Connection) Proxy.newProxyInstance(Connection.class.getClassLoader(),
        new Class<?>[] {Connection.class}, (proxy, method, args) -> {
          if (method.getName().equals("createStatement")) {
            statements.incrementAndGet();
          }
          try {
            return method.invoke(connection, args);
          } catch (InvocationTargetException e) {
            throw e.getCause();
          }
        });
  }
}
