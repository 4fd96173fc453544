package dev.cacheaside.redis;

import dev.cacheaside.core.spi.StoreChecks;

/**
 * Where {@link RedisCacheStore} keeps things in Redis: the one place that makes a Redis key.
 *
 * <h2>Entries</h2>
 * An entry (a store key, as the core makes it) is two Redis keys: its value at
 * {@link #valueKey} and its lease at {@link #leaseKey}. They share a hash tag, so in a cluster they
 * live in one hash slot and a script can see both. The rule is the same in standalone and in
 * cluster mode, so entries keep their names when a deployment moves between the two:
 * <ul>
 *   <li>a key that already contains a non-empty hash tag ({@code "{...}"} as Redis Cluster reads
 *       it: the first {@code '{'} and the first {@code '}'} after it, with something between) is
 *       its own value key, so callers can put related entries in one slot on purpose;</li>
 *   <li>any other key is wrapped in braces: {@code products:42} is stored at
 *       {@code {products:42}}, and its lease at {@code {products:42}:lease}. A key that begins
 *       with <code>'}'</code> gets one more opening brace (<code>}x</code> is stored at
 *       <code>{{}x}</code>), because <code>{}x}</code> would begin with an empty tag and Redis
 *       would hash it whole.</li>
 * </ul>
 * A consequence: a key that is already the value key of another names the same entry
 * ({@code "{x}"} and {@code "x"}; <code>"{}x"</code> and <code>"}x"</code>).
 *
 * <h2>Generations</h2>
 * A cache's generation counter is at {@link #generationKey}: the value key of
 * {@code cache-aside:generation:<name>}.
 */
final class RedisKeyLayout {
  /** What {@link #leaseKey} appends to the value key. */
  private static final String LEASE_SUFFIX = ":lease";
  /** The prefix of the generation counters' keys, before the value-key rule. */
  private static final String GENERATION_PREFIX = "cache-aside:generation:";

  private RedisKeyLayout() {}

  /**
   * The Redis key of the value of store key {@code key}.
   *
   * @throws NullPointerException if {@code key} is null
   * @throws IllegalArgumentException if {@code key} is empty
   */
  static String valueKey(String key) {
    StoreChecks.checkKey(key);
    if (hasHashTag(key)) {
      return key;
    }
    // "{" + "}x" + "}" would start with the empty tag "{}", and Redis would hash the whole key,
    // so its lease (a longer key) would land in another slot. One more '{' makes the tag "{".
    return key.charAt(0) == '}' ? "{{" + key + "}" : "{" + key + "}";
  }

  /** The Redis key of the lease of store key {@code key}, in its value key's slot. */
  static String leaseKey(String key) {
    return leaseKeyOf(valueKey(key));
  }

  /** The lease key that goes with a value key. */
  static String leaseKeyOf(String valueKey) {
    return valueKey + LEASE_SUFFIX;
  }

  /** The Redis key of the generation counter of the cache named {@code namespace}. */
  static String generationKey(String namespace) {
    return valueKey(GENERATION_PREFIX + StoreChecks.checkNamespace(namespace));
  }

  /**
   * Whether Redis Cluster hashes only part of {@code key}: the part between the first '{' and
   * the first '}' after it, when that part is not empty. Both are ASCII, so searching the UTF-16
   * string finds the same positions as Redis does in the UTF-8 bytes.
   */
  static boolean hasHashTag(String key) {
    int open = key.indexOf('{');
    if (open < 0) {
      return false;
    }
    int close = key.indexOf('}', open + 1);
    return close > open + 1;
  }
}
