package dev.cacheaside.redis;

import dev.cacheaside.core.spi.StoreChecks;
import io.lettuce.core.cluster.SlotHash;
import java.nio.charset.StandardCharsets;
import org.jspecify.annotations.Nullable;

/**
 * Where {@link RedisCacheStore} keeps things in Redis: the one place that makes a Redis key.
 *
 * <table>
 *   <caption>The keys</caption>
 *   <tr><th>what</th><th>Redis key</th></tr>
 *   <tr><td>the value of store key {@code k}</td><td>{@code ca:{E(k)}}</td></tr>
 *   <tr><td>the lease of store key {@code k}</td><td>{@code ca:{E(k)}:l}</td></tr>
 *   <tr><td>the generation of cache {@code n}</td><td>{@code ca:g:{E(n)}}</td></tr>
 * </table>
 *
 * <p>{@code E} writes {@code %} as {@code %25}, <code>{</code> as {@code %7B} and <code>}</code>
 * as {@code %7D} and keeps every other character (the key is then written as UTF-8). So:
 * <ul>
 *   <li>no store key, whatever its characters, brings a brace of its own: the hash tag of a value
 *       key and of its lease is exactly <code>{E(k)}</code>, and both live in one slot of a
 *       cluster, where one script sees both;</li>
 *   <li>{@code E} is reversible, so distinct store keys make distinct value keys, and distinct
 *       lease keys;</li>
 *   <li>a value key ends with <code>}</code>, a lease key with {@code :l}, and a generation key
 *       begins with {@code ca:g:} where the others begin with <code>ca:{</code>: no key of one
 *       kind is a key of another kind.</li>
 * </ul>
 * Everything this library keeps in Redis begins with {@code ca:}; other applications sharing the
 * Redis should keep out of that prefix. The core makes the store keys so that distinct caches,
 * generations and keys never share one (see {@code CacheAside.storeKey}).
 */
final class RedisKeyLayout {
  private static final String VALUE_PREFIX = "ca:{";
  private static final String GENERATION_PREFIX = "ca:g:{";
  private static final String LEASE_SUFFIX = ":l";

  private RedisKeyLayout() {}

  /**
   * The Redis key of the value of store key {@code key}.
   *
   * @throws NullPointerException if {@code key} is null
   * @throws IllegalArgumentException if {@code key} is empty
   */
  static String valueKey(String key) {
    return VALUE_PREFIX + escape(StoreChecks.checkKey(key)) + '}';
  }

  /** The Redis key of the lease of store key {@code key}, in its value key's slot. */
  static String leaseKey(String key) {
    return leaseKeyOf(valueKey(key));
  }

  /** The lease key that goes with a value key. */
  static String leaseKeyOf(String valueKey) {
    return valueKey + LEASE_SUFFIX;
  }

  /** The Redis key of the generation of the cache named {@code namespace}. */
  static String generationKey(String namespace) {
    return GENERATION_PREFIX + escape(StoreChecks.checkNamespace(namespace)) + '}';
  }

  /**
   * The cluster hash slot of a Redis key, as Redis computes it: over the key's UTF-8 bytes, the
   * bytes the store's codec sends. Not Lettuce's {@code SlotHash.getSlot(String)}, which encodes
   * with the JVM's default charset: on a JVM whose default is not UTF-8 (JDK 17 under
   * {@code LANG=C}) every non-ASCII character would hash as {@code ?}, and keys of different slots
   * would be grouped into one script call, which Redis refuses ({@code CROSSSLOT}).
   */
  static int slot(String redisKey) {
    return SlotHash.getSlot(redisKey.getBytes(StandardCharsets.UTF_8));
  }

  /**
   * The store key whose value key is {@code valueKey}, or null if it is not a value key (for the
   * invalidation messages, which name value keys).
   */
  static @Nullable String storeKeyOf(String valueKey) {
    if (!valueKey.startsWith(VALUE_PREFIX) || !valueKey.endsWith("}")
        || valueKey.length() <= VALUE_PREFIX.length() + 1) {
      return null;
    }
    return unescape(valueKey.substring(VALUE_PREFIX.length(), valueKey.length() - 1));
  }

  /** The cache name whose generation key is {@code key}, or null if it is not one. */
  static @Nullable String namespaceOf(String key) {
    if (!key.startsWith(GENERATION_PREFIX) || !key.endsWith("}")
        || key.length() <= GENERATION_PREFIX.length() + 1) {
      return null;
    }
    return unescape(key.substring(GENERATION_PREFIX.length(), key.length() - 1));
  }

  /** The inverse of {@link #escape}. */
  static String unescape(String text) {
    if (text.indexOf('%') < 0) {
      return text;
    }
    StringBuilder out = new StringBuilder(text.length());
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (c == '%' && i + 3 <= text.length()) {
        String code = text.substring(i + 1, i + 3);
        char decoded = switch (code) {
          case "25" -> '%';
          case "7B" -> '{';
          case "7D" -> '}';
          default -> 0;
        };
        if (decoded != 0) {
          out.append(decoded);
          i += 2;
          continue;
        }
      }
      out.append(c);
    }
    return out.toString();
  }

  /** {@code text} without braces of its own: {@code %}, <code>{</code>, <code>}</code> escaped. */
  static String escape(String text) {
    if (text.indexOf('%') < 0 && text.indexOf('{') < 0 && text.indexOf('}') < 0) {
      return text;
    }
    StringBuilder out = new StringBuilder(text.length() + 8);
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      switch (c) {
        case '%' -> out.append("%25");
        case '{' -> out.append("%7B");
        case '}' -> out.append("%7D");
        default -> out.append(c);
      }
    }
    return out.toString();
  }
}
