package dev.cacheaside.r2dbc;

import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactory;
import java.nio.charset.StandardCharsets;
import java.util.Objects;
import java.util.function.Function;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * Installs, on a table, the trigger that tells a {@link PgInvalidationListener} which keys
 * changed: after every inserted, updated or deleted row it calls
 * {@code pg_notify(channel, payload)} with the table and the row's key column value (the old and
 * the new value when an update changes the key), and after a {@code TRUNCATE} it says that any key
 * may have changed. Notifications are delivered when the transaction commits, and not at all if it
 * rolls back.
 *
 * <pre>{@code
 * PgNotifyTrigger.install(connectionFactory, "product", "id", PgNotifyTrigger.DEFAULT_CHANNEL)
 *     .block();   // at startup or in a migration; installing again changes nothing
 * }</pre>
 *
 * <h2>What is installed</h2>
 * In the table's schema, the function {@value #FUNCTION_NAME}() (shared by all tables of the
 * schema), and on the table two triggers named after the key column:
 * {@code cache_aside_<column>} ({@code AFTER INSERT OR UPDATE OR DELETE ... FOR EACH ROW}) and
 * {@code cache_aside_<column>_truncate} ({@code AFTER TRUNCATE ... FOR EACH STATEMENT}). The key is
 * the column's value as {@code to_jsonb(row) ->> column} renders it: for integer, text and uuid
 * columns, their usual text form. A row whose key is null notifies nothing (no cache entry has a
 * null key).
 *
 * <h2>The payload</h2>
 * A sequence of {@code <length>:<text>} items (length in characters): the schema, the table, the
 * key column, then the changed keys (none, one or two). No key means any key of the table may
 * have changed: after a {@code TRUNCATE}, when the key column is missing from the row (renamed),
 * or when the keys would not fit in {@code pg_notify}'s 8000 bytes. For example
 * {@code 6:public7:product2:id2:42}. Other programs may listen too.
 *
 * <h2>Costs</h2>
 * Each changed row converts itself to {@code jsonb} once or twice, and a transaction that notifies
 * takes a cluster-wide lock briefly at commit (PostgreSQL's notification queue): fine for the
 * write rates cache-aside is for; measure before using it on a table written thousands of times a
 * second.
 *
 * @since 0.1
 */
public final class PgNotifyTrigger {
  /** The channel used unless another is named: {@value}. */
  public static final String DEFAULT_CHANNEL = "cache_aside_invalidation";
  /** The trigger function's name, in the table's schema: {@value}. */
  public static final String FUNCTION_NAME = "cache_aside_notify";

  /** Longest key column name in bytes: trigger names ({@code cache_aside_<column>_truncate}) have at most 63. */
  static final int MAX_COLUMN_BYTES = 63 - "cache_aside__truncate".length();

  /** The advisory lock installers take turns on; an arbitrary constant of this library's own. */
  static final long LOCK_ID = 0x0CA5_EA51_DE00_0001L;

  private static final String RESOLVE = """
      SELECT quote_ident(n.nspname), quote_ident(c.relname), c.relkind::text,
             EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = $2
                     AND a.attnum > 0 AND NOT a.attisdropped),
             quote_ident('cache_aside_' || $2), quote_ident('cache_aside_' || $2 || '_truncate'),
             quote_literal($2), quote_literal($3)
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.oid = to_regclass($1)""";

  /** The function; {@code %1$s} is the quoted schema. */
  private static final String FUNCTION = """
      CREATE OR REPLACE FUNCTION %1$s.cache_aside_notify() RETURNS trigger
      LANGUAGE plpgsql AS $cache_aside$
      -- Installed by cache-aside (dev.cacheaside.r2dbc.PgNotifyTrigger). Tells listeners on the
      -- channel TG_ARGV[0] which values of the key column TG_ARGV[1] changed, as "<length>:<text>"
      -- items: schema, table, column, keys. No key: any key of the table may have changed.
      DECLARE
        head text := length(TG_TABLE_SCHEMA) || ':' || TG_TABLE_SCHEMA
            || length(TG_TABLE_NAME) || ':' || TG_TABLE_NAME
            || length(TG_ARGV[1]) || ':' || TG_ARGV[1];
        doc jsonb;
        old_key text;
        new_key text;
        keys text := '';
      BEGIN
        IF TG_LEVEL = 'ROW' THEN
          IF TG_OP <> 'INSERT' THEN
            doc := to_jsonb(OLD);
            old_key := doc ->> TG_ARGV[1];
          END IF;
          IF TG_OP <> 'DELETE' THEN
            doc := to_jsonb(NEW);
            new_key := doc ->> TG_ARGV[1];
          END IF;
          IF NOT doc ? TG_ARGV[1] THEN
            -- The key column is gone (renamed?): say "any key may have changed".
            PERFORM pg_notify(TG_ARGV[0], head);
            RETURN NULL;
          END IF;
          IF old_key IS NOT NULL THEN
            keys := length(old_key) || ':' || old_key;
          END IF;
          IF new_key IS NOT NULL AND new_key IS DISTINCT FROM old_key THEN
            keys := keys || length(new_key) || ':' || new_key;
          END IF;
          IF keys = '' THEN
            RETURN NULL;
          END IF;
          -- pg_notify refuses 8000 bytes or more, which would fail the user's write.
          IF octet_length(head) + octet_length(keys) < 8000 THEN
            head := head || keys;
          END IF;
        END IF;
        PERFORM pg_notify(TG_ARGV[0], head);
        RETURN NULL;
      END
      $cache_aside$""";

  private PgNotifyTrigger() {}

  /**
   * Creates or replaces the trigger function and the triggers on {@code table} for
   * {@code keyColumn}, notifying {@code channel}; idempotent, and safe to run from many instances
   * at once (they take turns on an advisory lock). Runs in one transaction on one connection of
   * {@code connections}; replacing the triggers briefly locks the table against writes.
   *
   * <p>Completes when committed. Errors with {@link IllegalArgumentException} if the table does not
   * exist (as resolved by the connection's {@code search_path}), is not a table, or has no such
   * column; with the driver's error if the statements fail (for example for lack of privilege).
   *
   * @param table the table, optionally schema-qualified, in SQL syntax ({@code product},
   *     {@code shop.product}, {@code "Product"})
   * @param keyColumn the key column's exact name (as in the catalog: {@code id}, not {@code "id"})
   * @param channel the channel to notify, as the listener names it
   * @throws NullPointerException at once if an argument is null
   * @throws IllegalArgumentException at once if an argument is blank, the column name is longer
   *     than 42 bytes, or the channel name is not a valid channel name
   */
  public static Mono<Void> install(ConnectionFactory connections, String table, String keyColumn,
      String channel) {
    Objects.requireNonNull(connections, "connections must not be null");
    checkTable(table);
    checkColumn(keyColumn);
    checkChannel(channel);
    return inTransaction(connections, connection -> resolve(connection, table, keyColumn, channel)
        .flatMap(target -> Sql.execute(connection, String.format(FUNCTION, target.schema()))
            .then(Sql.execute(connection, "DROP TRIGGER IF EXISTS " + target.rowTrigger()
                + " ON " + target.table()))
            .then(Sql.execute(connection, "CREATE TRIGGER " + target.rowTrigger()
                + " AFTER INSERT OR UPDATE OR DELETE ON " + target.table()
                + " FOR EACH ROW EXECUTE FUNCTION " + target.schema() + "." + FUNCTION_NAME + "("
                + target.channelLiteral() + ", " + target.columnLiteral() + ")"))
            .then(Sql.execute(connection, "DROP TRIGGER IF EXISTS " + target.truncateTrigger()
                + " ON " + target.table()))
            .then(Sql.execute(connection, "CREATE TRIGGER " + target.truncateTrigger()
                + " AFTER TRUNCATE ON " + target.table()
                + " FOR EACH STATEMENT EXECUTE FUNCTION " + target.schema() + "." + FUNCTION_NAME
                + "(" + target.channelLiteral() + ", " + target.columnLiteral() + ")"))));
  }

  /**
   * Drops the triggers {@link #install} created on {@code table} for {@code keyColumn}, if they
   * exist; the shared function stays. Completes when committed; errors as {@link #install}.
   *
   * @throws NullPointerException at once if an argument is null
   * @throws IllegalArgumentException at once if an argument is blank or the column name too long
   */
  public static Mono<Void> uninstall(ConnectionFactory connections, String table,
      String keyColumn) {
    Objects.requireNonNull(connections, "connections must not be null");
    checkTable(table);
    checkColumn(keyColumn);
    return inTransaction(connections, connection ->
        resolve(connection, table, keyColumn, DEFAULT_CHANNEL)
            .flatMap(target -> Sql.execute(connection, "DROP TRIGGER IF EXISTS "
                    + target.rowTrigger() + " ON " + target.table())
                .then(Sql.execute(connection, "DROP TRIGGER IF EXISTS "
                    + target.truncateTrigger() + " ON " + target.table()))));
  }

  /** The table and the SQL texts of its names, all quoted by the server itself. */
  private record Target(String schema, String table, String rowTrigger, String truncateTrigger,
      String columnLiteral, String channelLiteral) {}

  private static Mono<Target> resolve(Connection connection, String table, String keyColumn,
      String channel) {
    return Flux.from(connection.createStatement(RESOLVE)
            .bind(0, table).bind(1, keyColumn).bind(2, channel).execute())
        .concatMap(result -> result.map((row, metadata) -> {
          String schema = row.get(0, String.class);
          String name = row.get(1, String.class);
          String kind = row.get(2, String.class);
          Boolean hasColumn = row.get(3, Boolean.class);
          if (!"r".equals(kind) && !"p".equals(kind)) {
            throw new IllegalArgumentException(table + " is not a table (relkind " + kind + ")");
          }
          if (!Boolean.TRUE.equals(hasColumn)) {
            throw new IllegalArgumentException("table " + schema + "." + name
                + " has no column named " + keyColumn);
          }
          return new Target(schema, schema + "." + name, row.get(4, String.class),
              row.get(5, String.class), row.get(6, String.class), row.get(7, String.class));
        }))
        .next()
        .switchIfEmpty(Mono.error(() -> new IllegalArgumentException("table " + table
            + " does not exist, or is not on the connection's search_path")));
  }

  private static Mono<Void> inTransaction(ConnectionFactory connections,
      Function<Connection, Mono<Void>> work) {
    // Concurrent CREATE OR REPLACE FUNCTION calls can fail with "tuple concurrently updated":
    // instances installing at the same time take turns on an advisory lock.
    return TransactionalWrites.create(connections).execute((connection, afterCommit) ->
        Sql.execute(connection, "SELECT pg_advisory_xact_lock(" + LOCK_ID + ")")
            .then(work.apply(connection)));
  }

  private static void checkTable(String table) {
    Objects.requireNonNull(table, "table must not be null");
    if (table.isBlank()) {
      throw new IllegalArgumentException("table must not be blank");
    }
  }

  static void checkColumn(String keyColumn) {
    Objects.requireNonNull(keyColumn, "keyColumn must not be null");
    if (keyColumn.isBlank()) {
      throw new IllegalArgumentException("keyColumn must not be blank");
    }
    if (keyColumn.getBytes(StandardCharsets.UTF_8).length > MAX_COLUMN_BYTES) {
      throw new IllegalArgumentException("keyColumn must be at most " + MAX_COLUMN_BYTES
          + " bytes long (it names the triggers) but was " + keyColumn);
    }
  }

  /** PostgreSQL channel names are identifiers: at most 63 bytes, no NUL. */
  static void checkChannel(String channel) {
    Objects.requireNonNull(channel, "channel must not be null");
    if (channel.isEmpty()) {
      throw new IllegalArgumentException("channel must not be empty");
    }
    if (channel.indexOf('\0') >= 0) {
      throw new IllegalArgumentException("channel must not contain NUL");
    }
    if (channel.getBytes(StandardCharsets.UTF_8).length > 63) {
      throw new IllegalArgumentException("channel must be at most 63 bytes long but was "
          + channel);
    }
  }
}
