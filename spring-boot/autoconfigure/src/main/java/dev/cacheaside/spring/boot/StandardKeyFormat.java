package dev.cacheaside.spring.boot;

import java.lang.reflect.Array;
import java.lang.reflect.Field;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.RecordComponent;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.temporal.TemporalAccessor;
import java.util.Base64;
import java.util.List;
import java.util.UUID;
import org.jspecify.annotations.Nullable;
import org.springframework.cache.interceptor.SimpleKey;

/** {@link SpringCacheKeyFormat#standard()}. */
enum StandardKeyFormat implements SpringCacheKeyFormat {
  INSTANCE;

  /** Longer entry names are hashed: a store key is sent with every command. */
  static final int MAX_LENGTH = 200;
  private static final int MAX_DEPTH = 8;

  /**
   * {@link SimpleKey} keeps its arguments private and its {@code toString} is not lossless
   * ({@code SimpleKey [a, b]} for both {@code ("a, b")} and {@code ("a", "b")}), so the arguments
   * are read from its field, once made accessible; spring-context is on the class path, not a
   * named module that would refuse it.
   */
  private static final Field SIMPLE_KEY_PARAMS = simpleKeyParams();

  @Override
  public String format(Object key) {
    StringBuilder out = new StringBuilder(32);
    write(out, key, 0);
    return out.length() <= MAX_LENGTH ? out.toString() : hashed(out);
  }

  private static void write(StringBuilder out, @Nullable Object key, int depth) {
    if (depth > MAX_DEPTH) {
      throw new IllegalArgumentException("cache key nested more than " + MAX_DEPTH + " deep");
    }
    if (key == null) {
      out.append('n');
    } else if (key instanceof String s) {
      escaped(out.append("s:"), s);
    } else if (key instanceof Long l) {
      out.append("l:").append(l.longValue());
    } else if (key instanceof Integer i) {
      out.append("i:").append(i.intValue());
    } else if (key instanceof Short s) {
      out.append("h:").append(s.shortValue());
    } else if (key instanceof Byte b) {
      out.append("b:").append(b.byteValue());
    } else if (key instanceof Boolean b) {
      out.append("z:").append(b.booleanValue());
    } else if (key instanceof Character c) {
      escaped(out.append("c:"), c.toString());
    } else if (key instanceof Double d) {
      out.append("d:").append(d.doubleValue());
    } else if (key instanceof Float f) {
      out.append("f:").append(f.floatValue());
    } else if (key instanceof BigInteger b) {
      out.append("I:").append(b);
    } else if (key instanceof BigDecimal b) {
      out.append("D:").append(b); // toString keeps the scale: 1.0 and 1.00 differ, as equals says
    } else if (key instanceof UUID u) {
      out.append("u:").append(u);
    } else if (key instanceof Enum<?> e) {
      out.append("e:").append(e.getDeclaringClass().getName()).append('.').append(e.name());
    } else if (key instanceof TemporalAccessor t && key.getClass().getName().startsWith("java.time.")) {
      escaped(out.append("t:").append(key.getClass().getSimpleName()).append(':'), t.toString());
    } else if (key instanceof java.time.Duration d) {
      out.append("t:Duration:").append(d);
    } else if (key instanceof SimpleKey k) {
      elements(out.append('k'), simpleKeyParams(k), depth);
    } else if (key instanceof List<?> list) {
      elements(out.append('L'), list.toArray(), depth);
    } else if (key.getClass().isArray()) {
      Object[] elements = new Object[Array.getLength(key)];
      for (int i = 0; i < elements.length; i++) {
        elements[i] = Array.get(key, i);
      }
      elements(out.append('a'), elements, depth);
    } else if (key instanceof Record record) {
      elements(out.append('r').append(key.getClass().getName()), components(record), depth);
    } else {
      throw new IllegalArgumentException("a cache key of type " + key.getClass().getName()
          + " has no lossless text form; name the key with a key expression (e.g. key = \"#p0.id\")"
          + " or declare a SpringCacheKeyFormat bean");
    }
  }

  private static void elements(StringBuilder out, @Nullable Object[] elements, int depth) {
    out.append('(');
    for (int i = 0; i < elements.length; i++) {
      if (i > 0) {
        out.append(',');
      }
      write(out, elements[i], depth + 1);
    }
    out.append(')');
  }

  /**
   * Percent-encodes what could break the structure or the store's key layout: {@code %} itself,
   * the composite delimiters, Redis Cluster hash-tag braces, and control characters.
   */
  private static void escaped(StringBuilder out, String text) {
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (c < 0x20 || c == 0x7f || c == '%' || c == '{' || c == '}' || c == '(' || c == ')'
          || c == ',') {
        out.append('%').append(Character.forDigit(c >> 4 & 0xf, 16))
            .append(Character.forDigit(c & 0xf, 16));
      } else {
        out.append(c);
      }
    }
  }

  private static String hashed(StringBuilder formatted) {
    try {
      byte[] digest = MessageDigest.getInstance("SHA-256")
          .digest(formatted.toString().getBytes(StandardCharsets.UTF_8));
      return "#" + Base64.getUrlEncoder().withoutPadding().encodeToString(digest);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is required of every JVM", e);
    }
  }

  private static @Nullable Object[] components(Record record) {
    RecordComponent[] components = record.getClass().getRecordComponents();
    Object[] values = new Object[components.length];
    for (int i = 0; i < components.length; i++) {
      try {
        var accessor = components[i].getAccessor();
        accessor.setAccessible(true);
        values[i] = accessor.invoke(record);
      } catch (IllegalAccessException | InvocationTargetException | RuntimeException e) {
        throw new IllegalArgumentException("cannot read component " + components[i].getName()
            + " of cache key " + record.getClass().getName(), e);
      }
    }
    return values;
  }

  private static @Nullable Object[] simpleKeyParams(SimpleKey key) {
    try {
      return (Object[]) SIMPLE_KEY_PARAMS.get(key);
    } catch (IllegalAccessException e) {
      throw new IllegalStateException("cannot read SimpleKey's arguments", e);
    }
  }

  private static Field simpleKeyParams() {
    try {
      Field field = SimpleKey.class.getDeclaredField("params");
      field.setAccessible(true);
      return field;
    } catch (NoSuchFieldException | RuntimeException e) {
      throw new IllegalStateException("this Spring Framework's SimpleKey has no 'params' field;"
          + " declare a SpringCacheKeyFormat bean", e);
    }
  }
}
