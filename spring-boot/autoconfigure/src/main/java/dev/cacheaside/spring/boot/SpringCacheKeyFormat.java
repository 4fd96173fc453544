package dev.cacheaside.spring.boot;

/**
 * Turns the key of a Spring {@link org.springframework.cache.Cache} (a method argument,
 * a {@link org.springframework.cache.interceptor.SimpleKey} of several, or what a {@code key}
 * expression made) into the string that names the entry in the store, after the cache's name.
 *
 * <p>Keys are untrusted input (a path variable, a request parameter), so a format must be
 * lossless (two different keys never share an entry) and must not let a key choose its store key
 * freely (no Redis hash tags, no runaway lengths). {@link #standard()} is such a format; declare a
 * bean of this type to replace it for every cache of the auto-configured manager.
 *
 * @since 0.1
 */
@FunctionalInterface
public interface SpringCacheKeyFormat {

  /**
   * The entry name of {@code key}.
   *
   * @throws IllegalArgumentException if the key's type cannot be written losslessly; the call
   *     that used it fails (a programming error to fix with a {@code key} expression or a format)
   */
  String format(Object key);

  /**
   * The standard format: type-tagged and escaped, so that {@code 42L}, {@code 42} and
   * {@code "42"} are three entries and no string can imitate another key.
   *
   * <ul>
   *   <li>{@code String} {@code s:} + the text, with {@code %}, braces, parentheses, commas and
   *       control characters percent-encoded; {@code Long} {@code l:42}; {@code Integer}
   *       {@code i:42}; likewise {@code Short}, {@code Byte}, {@code Boolean}, {@code Character},
   *       {@code Double}, {@code Float} (shortest exact decimal), {@code BigInteger},
   *       {@code BigDecimal} (scale kept), {@code UUID}, enum constants (class and name) and
   *       {@code java.time} values (ISO text with the type's name);</li>
   *   <li>a {@link org.springframework.cache.interceptor.SimpleKey} (several arguments), a
   *       {@link java.util.List}, an array or a record: {@code k(...)}, {@code L(...)},
   *       {@code a(...)}, {@code r<Type>(...)} of their elements, comma-separated;</li>
   *   <li>a result longer than 200 characters is replaced by {@code #} and the base64url SHA-256
   *       of it (a collision would need a SHA-256 collision);</li>
   *   <li>any other type (a {@code Set}, a {@code Map}, a bean) is refused with an
   *       {@link IllegalArgumentException}: its text form is not guaranteed lossless.</li>
   * </ul>
   */
  static SpringCacheKeyFormat standard() {
    return StandardKeyFormat.INSTANCE;
  }
}
