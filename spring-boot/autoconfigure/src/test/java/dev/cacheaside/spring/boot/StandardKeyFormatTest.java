package dev.cacheaside.spring.boot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.math.BigDecimal;
import java.time.LocalDate;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.springframework.cache.interceptor.SimpleKey;

class StandardKeyFormatTest {
  private final SpringCacheKeyFormat format = SpringCacheKeyFormat.standard();

  record Query(String text, int page) {}

  enum Color { RED }

  @Test
  void typesAreTagged_sameTextDifferentTypes_differentEntries() {
    Set<String> names = new HashSet<>();
    for (Object key : List.of(42L, 42, (short) 42, (byte) 42, "42", 42.0, 42.0f,
        new BigDecimal("42"), new BigDecimal("42.0"), new java.math.BigInteger("42"), '4')) {
      assertThat(names.add(format.format(key))).as("%s (%s)", key, key.getClass()).isTrue();
    }
  }

  @Test
  void simpleKey_isLossless_whereItsToStringIsNot() {
    String one = format.format(new SimpleKey("a, b"));
    String two = format.format(new SimpleKey("a", "b"));

    assertThat(new SimpleKey("a, b").toString()).isEqualTo(new SimpleKey("a", "b").toString());
    assertThat(one).isNotEqualTo(two);
    assertThat(two).isEqualTo("k(s:a,s:b)");
    assertThat(format.format(SimpleKey.EMPTY)).isEqualTo("k()");
    assertThat(format.format(new SimpleKey(null, 1L))).isEqualTo("k(n,l:1)");
  }

  @Test
  void untrustedText_cannotImitateStructure_norNameAHashTag() {
    String hostile = "x),s:y{tag}%\n";
    String formatted = format.format(hostile);

    assertThat(formatted).isEqualTo("s:x%29%2cs:y%7btag%7d%25%0a");
    assertThat(formatted).doesNotContain("{", "}", "(", ")", ",", "\n");
    assertThat(format.format(new SimpleKey("x", "y"))).isNotEqualTo(format.format(new SimpleKey("x),s:y")));
  }

  @Test
  void longKeys_areHashed_toAFixedLength_andStayDistinct() {
    String a = format.format("a".repeat(10_000));
    String b = format.format("a".repeat(9_999) + "b");

    assertThat(a).startsWith("#").hasSize(44);
    assertThat(a).isNotEqualTo(b);
    assertThat(format.format("a".repeat(10_000))).isEqualTo(a);
  }

  @Test
  void records_lists_arrays_uuids_enums_time() {
    UUID id = UUID.fromString("00000000-0000-0000-0000-00000000002a");

    assertThat(format.format(new Query("tea", 2)))
        .isEqualTo("r" + Query.class.getName() + "(s:tea,i:2)");
    assertThat(format.format(List.of(1L, 2L))).isEqualTo("L(l:1,l:2)");
    assertThat(format.format(new long[] {1, 2})).isEqualTo("a(l:1,l:2)");
    assertThat(format.format(id)).isEqualTo("u:" + id);
    assertThat(format.format(Color.RED)).isEqualTo("e:" + Color.class.getName() + ".RED");
    assertThat(format.format(LocalDate.of(2026, 1, 2))).isEqualTo("t:LocalDate:2026-01-02");
  }

  @Test
  void typesWithoutALosslessForm_areRefused_withAMessageSayingWhatToDo() {
    assertThatThrownBy(() -> format.format(Set.of(1, 2)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("key expression").hasMessageContaining("SpringCacheKeyFormat");
    assertThatThrownBy(() -> format.format(new Object()))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
