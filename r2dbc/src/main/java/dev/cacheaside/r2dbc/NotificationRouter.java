package dev.cacheaside.r2dbc;

import dev.cacheaside.core.CacheAside;
import io.r2dbc.postgresql.api.Notification;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Function;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.util.Logger;
import reactor.util.Loggers;

/**
 * Where a {@link PgInvalidationListener}'s notifications go: from a trigger's payload (table, key
 * column, key texts) to the caches registered for them, as invalidations of parsed keys or, when
 * the keys are unknown or unparsable, generation bumps. Apart from the listener, which owns only
 * the connection's life (listen, reconnect, health), so that each can be read and tested alone.
 */
final class NotificationRouter {
  private static final Logger LOG = Loggers.getLogger(PgInvalidationListener.class);

  private final List<Route<?>> routes;
  /** Every registered cache once, by identity: a cache is one object, whatever its equals says. */
  private final List<CacheAside<?, ?>> caches;
  private final Invalidator invalidator;
  private final String name;
  private final LongAdder notifications = new LongAdder();
  private final LongAdder ignored = new LongAdder();

  NotificationRouter(List<Route<?>> routes, Invalidator invalidator, String name) {
    this.routes = List.copyOf(routes);
    Set<CacheAside<?, ?>> distinct = Collections.newSetFromMap(new IdentityHashMap<>());
    this.routes.forEach(r -> distinct.addAll(r.caches()));
    this.caches = List.copyOf(distinct);
    this.invalidator = invalidator;
    this.name = name;
  }

  /** Each registered table with its key columns, in registration order. */
  Map<String, Set<String>> columnsByTable() {
    Map<String, Set<String>> columnsByTable = new LinkedHashMap<>();
    routes.forEach(r ->
        columnsByTable.computeIfAbsent(r.table(), t -> new LinkedHashSet<>()).add(r.column()));
    return columnsByTable;
  }

  /** Bumps every registered cache's generation, after notifications may have been lost. */
  Mono<Void> bumpAll() {
    return Flux.fromIterable(caches).flatMap(invalidator::bumpGeneration).then();
  }

  long notifications() {
    return notifications.sum();
  }

  long ignored() {
    return ignored.sum();
  }

  /** Invalidates what one notification names, in every cache registered for its table and column. */
  Mono<Void> route(Notification notification) {
    notifications.increment();
    String text = notification.getParameter();
    NotifyPayload payload = text == null ? null : NotifyPayload.parse(text);
    if (payload == null) {
      ignored.increment();
      LOG.warn("{}: ignoring a notification that is not cache-aside's: {}", name, text);
      return Mono.empty();
    }
    List<Mono<Void>> work = new ArrayList<>(2);
    for (Route<?> route : routes) {
      if (route.matches(payload)) {
        work.add(route.apply(payload.keys(), invalidator, name));
      }
    }
    if (work.isEmpty()) {
      ignored.increment();
      LOG.debug("{}: no cache registered for {}.{} by {}", name, payload.schema(),
          payload.table(), payload.column());
      return Mono.empty();
    }
    return Flux.merge(work).then();
  }

  /** Caches to invalidate when rows of a table change, and how the key column's text maps to their keys. */
  record Route<K>(String table, String column, Function<String, ? extends K> keyParser,
      List<CacheAside<K, ?>> caches) {

    /**
     * An unqualified table name matches that table in any schema; {@code schema.table} only that
     * one. Names are compared as the catalog spells them.
     */
    boolean matches(NotifyPayload payload) {
      if (!column.equals(payload.column())) {
        return false;
      }
      int dot = table.indexOf('.');
      return dot < 0
          ? table.equals(payload.table())
          : table.equals(payload.schema() + "." + payload.table());
    }

    Mono<Void> apply(List<String> texts, Invalidator invalidator, String name) {
      if (texts.isEmpty()) {
        LOG.info("{}: any key of {} may have changed (TRUNCATE, or a key too long to notify)",
            name, table);
        return Flux.fromIterable(caches).flatMap(invalidator::bumpGeneration).then();
      }
      List<K> keys = new ArrayList<>(texts.size());
      try {
        for (String text : texts) {
          keys.add(Objects.requireNonNull(keyParser.apply(text), "key parser returned null"));
        }
      } catch (RuntimeException e) {
        LOG.warn("{}: the key parser of {}.{} rejected {} ({}); bumping the generation instead",
            name, table, column, texts, e.toString());
        return Flux.fromIterable(caches).flatMap(invalidator::bumpGeneration).then();
      }
      return Flux.fromIterable(caches).flatMap(cache -> invalidator.invalidate(cache, keys)).then();
    }
  }
}
