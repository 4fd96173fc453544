package dev.cacheaside.redis;

import io.lettuce.core.KeyValue;
import java.util.HashMap;
import java.util.Map;

/**
 * Collects the reply of {@link RedisCacheStore#getAll}'s {@code MGET} into a map of the present
 * keys to their bytes. Matching by position, not by the reply's key, is what keeps two cache keys
 * that alias one value key ({@code "x"} and {@code "{x}"}) both answered: MGET answers in request
 * order, and Lettuce's cluster {@code mget} restores that order after splitting by slot.
 */
final class MgetHits {
  private final String[] keys;
  private final Map<String, byte[]> found;
  private int next;

  MgetHits(String[] keys) {
    this.keys = keys;
    this.found = new HashMap<>(Math.max(4, (int) (keys.length / 0.75f) + 1));
  }

  void add(KeyValue<String, byte[]> reply) {
    String key = keys[next++];
    if (reply.hasValue()) {
      found.put(key, reply.getValue());
    }
  }

  Map<String, byte[]> found() {
    return found;
  }
}
