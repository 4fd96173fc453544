package dev.cacheaside.testing;

import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.Result;
import java.time.Duration;
import java.util.List;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/** Blocking SQL for the tests' own threads: each call on a new connection, closed after. */
final class Sql {

  private static final Duration TIMEOUT = Duration.ofSeconds(30);

  private Sql() {}

  static void execute(ConnectionFactory factory, String... statements) {
    Mono.usingWhen(
            Mono.from(factory.create()),
            connection -> Flux.fromArray(statements)
                .concatMap(sql -> Flux.from(connection.createStatement(sql).execute()).concatMap(Result::getRowsUpdated))
                .then(),
            Connection::close)
        .block(TIMEOUT);
  }

  /** The first column of every row, as strings. */
  static List<String> column(ConnectionFactory factory, String sql) {
    return Mono.usingWhen(
            Mono.from(factory.create()),
            connection -> Flux.from(connection.createStatement(sql).execute())
                .concatMap(result -> result.map((row, metadata) -> String.valueOf(row.get(0))))
                .collectList(),
            Connection::close)
        .block(TIMEOUT);
  }

  static String single(ConnectionFactory factory, String sql) {
    List<String> values = column(factory, sql);
    if (values.size() != 1) {
      throw new AssertionError(sql + " returned " + values + ", expected one row");
    }
    return values.get(0);
  }

  static boolean schemaExists(String name) {
    return !column(TestPostgres.get().connectionFactory(),
        "SELECT nspname FROM pg_namespace WHERE nspname = '" + name + "'").isEmpty();
  }
}
