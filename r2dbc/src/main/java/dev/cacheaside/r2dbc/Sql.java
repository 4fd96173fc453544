package dev.cacheaside.r2dbc;

import io.r2dbc.spi.Connection;
import io.r2dbc.spi.Result;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/** Statement helpers shared by the trigger installer and the listener. */
final class Sql {
  private Sql() {}

  /**
   * Runs {@code sql} (no parameters) on {@code connection} on each subscription, and completes when
   * it is done.
   */
  static Mono<Void> execute(Connection connection, String sql) {
    return Flux.defer(() -> connection.createStatement(sql).execute())
        .flatMap(Result::getRowsUpdated)
        .then();
  }

  /** Quotes {@code name} as a PostgreSQL identifier, so any name is taken as it is. */
  static String identifier(String name) {
    return '"' + name.replace("\"", "\"\"") + '"';
  }
}
