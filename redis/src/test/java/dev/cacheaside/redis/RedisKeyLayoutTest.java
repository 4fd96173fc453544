package dev.cacheaside.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lettuce.core.cluster.SlotHash;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Where an entry lives: the rule that puts a value and its lease into one hash slot. */
class RedisKeyLayoutTest {

  @ParameterizedTest(name = "{0} -> {1}")
  @CsvSource(delimiter = '|', value = {
      "products:42     | {products:42}",
      "user:{7}:cart   | user:{7}:cart",
      "{7}             | {7}",
      "user:{}:cart    | {user:{}:cart}",
      "a{}b{c}         | {a{}b{c}}",
      "}x{              | {{}x{}",
      "}{}              | {{}{}}",
      "}{a}             | }{a}",
      "{                | {{}",
      "}                | {{}}",
      "x}y              | {x}y}",
      "ünïcødé:1        | {ünïcødé:1}",
  })
  void valueKey_wrapsKeysWithoutANonEmptyHashTag(String key, String valueKey) {
    assertThat(RedisCacheStore.valueKey(key)).isEqualTo(valueKey);
    assertThat(RedisCacheStore.leaseKey(key)).isEqualTo(valueKey + ":lease");
  }

  @Test
  void valueKey_ofAValueKey_isItself_soTheTwoNameOneEntry() {
    assertThat(RedisCacheStore.valueKey("{x}")).isEqualTo(RedisCacheStore.valueKey("x"));
    assertThat(RedisCacheStore.valueKey("{}x")).isEqualTo(RedisCacheStore.valueKey("}x"));
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "products:42", "user:{7}:cart", "user:{}:cart", "a{}b{c}", "}x{", "{", "}", "{{}}", "x}y",
      "{}", "ünïcødé:{ß}", "tag{ }"})
  void valueAndLeaseKeys_shareAHashSlot(String key) {
    assertThat(SlotHash.getSlot(RedisCacheStore.leaseKey(key)))
        .isEqualTo(SlotHash.getSlot(RedisCacheStore.valueKey(key)));
  }

  @Test
  void valueAndLeaseKeys_shareAHashSlot_forRandomKeys() {
    SplittableRandom random = new SplittableRandom(42);
    // Few letters and many braces, so that every arrangement of braces turns up.
    char[] alphabet = "ab{}}{:é".toCharArray();
    for (int n = 0; n < 20_000; n++) {
      StringBuilder key = new StringBuilder();
      int length = 1 + random.nextInt(12);
      for (int i = 0; i < length; i++) {
        key.append(alphabet[random.nextInt(alphabet.length)]);
      }
      String k = key.toString();
      assertThat(SlotHash.getSlot(RedisCacheStore.leaseKey(k))).as(k)
          .isEqualTo(SlotHash.getSlot(RedisCacheStore.valueKey(k)));
    }
  }

  @Test
  void keysWithoutTags_spreadOverSlots() {
    long distinct = java.util.stream.IntStream.range(0, 1_000)
        .map(i -> SlotHash.getSlot(RedisCacheStore.valueKey("products:" + i)))
        .distinct().count();
    assertThat(distinct).as("the whole key is the tag, so keys spread").isGreaterThan(900);
  }

  @Test
  void keysWithOneTag_shareASlot() {
    List<String> keys = List.of("cart:{user7}:a", "cart:{user7}:b", "orders:{user7}");
    assertThat(keys.stream().map(k -> SlotHash.getSlot(RedisCacheStore.valueKey(k))).distinct())
        .hasSize(1);
  }

  @Test
  @SuppressWarnings("DataFlowIssue")
  void badKeys_areRejectedWithTheArgumentsName() {
    assertThatThrownBy(() -> RedisCacheStore.valueKey(null))
        .isInstanceOf(NullPointerException.class).hasMessage("key must not be null");
    assertThatThrownBy(() -> RedisCacheStore.leaseKey(""))
        .isInstanceOf(IllegalArgumentException.class).hasMessage("key must not be empty");
  }

  @Test
  void scriptDigests_areSha1Hex() {
    for (Script script : List.of(LeaseScripts.GET_OR_LEASE, LeaseScripts.SET_IF_LEASED,
        LeaseScripts.RELEASE_LEASE)) {
      assertThat(script.sha()).matches("[0-9a-f]{40}");
    }
  }
}
