package dev.cacheaside.r2dbc;

import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * A notification of {@link PgNotifyTrigger}'s function: {@code <length>:<text>} items, lengths in
 * characters (code points), of the schema, the table, the key column and zero to two keys.
 *
 * @param keys the changed keys; empty means any key of the table may have changed
 */
record NotifyPayload(String schema, String table, String column, List<String> keys) {
  private static final int MAX_ITEMS = 5;

  /** Parses {@code payload}; null if it is not one of ours. */
  static @Nullable NotifyPayload parse(String payload) {
    List<String> items = new ArrayList<>(MAX_ITEMS);
    int at = 0;
    while (at < payload.length()) {
      if (items.size() == MAX_ITEMS) {
        return null;
      }
      int colon = payload.indexOf(':', at);
      if (colon <= at || colon - at > 4) { // 8000 bytes hold at most 8000 characters
        return null;
      }
      int length = 0;
      for (int i = at; i < colon; i++) {
        char c = payload.charAt(i);
        if (c < '0' || c > '9') {
          return null;
        }
        length = length * 10 + (c - '0');
      }
      int start = colon + 1;
      int end;
      try {
        end = payload.offsetByCodePoints(start, length);
      } catch (IndexOutOfBoundsException e) {
        return null;
      }
      items.add(payload.substring(start, end));
      at = end;
    }
    if (items.size() < 3) {
      return null;
    }
    return new NotifyPayload(items.get(0), items.get(1), items.get(2),
        List.copyOf(items.subList(3, items.size())));
  }

  /** The payload of these items, as the trigger function writes it; for tests and benchmarks. */
  String format() {
    StringBuilder out = new StringBuilder();
    for (String item : allItems()) {
      out.append(item.codePointCount(0, item.length())).append(':').append(item);
    }
    return out.toString();
  }

  private List<String> allItems() {
    List<String> all = new ArrayList<>(List.of(schema, table, column));
    all.addAll(keys);
    return all;
  }
}
