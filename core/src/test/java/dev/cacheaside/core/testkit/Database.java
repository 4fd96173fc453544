package dev.cacheaside.core.testkit;

import dev.cacheaside.core.BulkLoader;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import reactor.core.publisher.Mono;

/**
 * The source of truth of bulk tests, as a counted bulk loader: ids below {@code size} exist, as
 * {@code "v" + id}; larger ids do not. Records the keys of every call, and answers only once
 * {@link #gate} completes, so a test can hold loads in flight.
 */
public final class Database implements BulkLoader<Integer, String> {
  private final int size;
  /** The keys of each call, in call order. */
  public final List<Set<Integer>> calls = new CopyOnWriteArrayList<>();
  /** What every call waits for before it answers; empty (answer at once) by default. */
  public volatile Mono<?> gate = Mono.empty();

  /** A database of the ids {@code 0 .. size - 1}. */
  public Database(int size) {
    this.size = size;
  }

  @Override
  public Mono<Map<Integer, String>> load(Set<Integer> keys) {
    calls.add(Set.copyOf(keys));
    Map<Integer, String> rows = new HashMap<>();
    keys.stream().filter(k -> k < size).forEach(k -> rows.put(k, "v" + k));
    return gate.then(Mono.just(rows));
  }

  /** Every key asked for, over all calls. */
  public Set<Integer> loadedKeys() {
    Set<Integer> all = new HashSet<>();
    calls.forEach(all::addAll);
    return all;
  }

  /** How many keys were asked for, over all calls (a key asked twice counts twice). */
  public int keysLoaded() {
    return calls.stream().mapToInt(Set::size).sum();
  }
}
