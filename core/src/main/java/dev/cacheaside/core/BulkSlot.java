package dev.cacheaside.core;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;

/**
 * One distinct store key of a bulk window: the requests it answers, and its answer once known.
 * Written by the window's work and read by its emission, which the operators between them order
 * (happens-before through their queues).
 */
final class BulkSlot<K, V> {
  final K key;
  final String storeKey;
  /** Further requests of this store key in the window, in order; null when there are none. */
  @Nullable List<K> more;
  /** The stale value found, served if a refresh is not ours or fails. */
  @Nullable Outcome<V> stale;
  /** Whether the value found was past its grace: refreshed like a stale one, never served. */
  boolean expired;
  /** This window's flight for the key, when it owns one. */
  Flights.@Nullable Flight<V> flight;
  /** Completes this window's flight, when it owns one. */
  Sinks.@Nullable One<Outcome<V>> sink;
  /** Whether this window's flight was completed. */
  boolean finished;
  /** Another caller's flight this window joined. */
  @Nullable Mono<Outcome<V>> joined;
  @Nullable Outcome<V> outcome;
  @Nullable Throwable error;

  BulkSlot(K key, String storeKey) {
    this.key = key;
    this.storeKey = storeKey;
  }

  /** Another request of the same store key. */
  void alsoFor(K requested) {
    if (more == null) {
      more = new ArrayList<>(2);
    }
    more.add(requested);
  }

  /** How many requests this slot answers. */
  int requests() {
    return more == null ? 1 : 1 + more.size();
  }

  /** Answers the slot. */
  BulkSlot<K, V> answer(Outcome<V> answer) {
    outcome = answer;
    return this;
  }

  /** Fails the slot. */
  BulkSlot<K, V> fail(Throwable cause) {
    outcome = null;
    error = cause;
    return this;
  }

  /** The result for {@code requested}, one of this slot's requests. */
  BulkResult<K, V> result(K requested) {
    Throwable e = error;
    if (e != null) {
      return BulkResult.failed(requested, e);
    }
    V value = Objects.requireNonNull(outcome, "answered slot has no outcome").value();
    return value == null ? BulkResult.absent(requested) : BulkResult.found(requested, value);
  }

  /**
   * Counts the outcomes of a batch, each as often as it was requested, with one add per kind
   * instead of one increment per request (errors are not outcomes, as on the single-key path).
   */
  static void count(List<? extends BulkSlot<?, ?>> batch, StatsCounter stats) {
    long[] byKind = new long[Outcome.Kind.values().length];
    for (BulkSlot<?, ?> slot : batch) {
      Outcome<?> answer = slot.outcome;
      if (slot.error == null && answer != null) {
        byKind[answer.kind().ordinal()] += slot.requests();
      }
    }
    for (Outcome.Kind kind : Outcome.Kind.values()) {
      stats.count(kind, byKind[kind.ordinal()]);
    }
  }

  /** The store keys of {@code slots}, in order. */
  static List<String> storeKeys(List<? extends BulkSlot<?, ?>> slots) {
    List<String> keys = new ArrayList<>(slots.size());
    slots.forEach(slot -> keys.add(slot.storeKey));
    return keys;
  }
}
