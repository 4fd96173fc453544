package dev.cacheaside.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.cacheaside.core.CacheAside;
import dev.cacheaside.core.Codec;
import dev.cacheaside.core.spi.CacheStore;
import dev.cacheaside.core.spi.ForwardingCacheStore;
import dev.cacheaside.core.spi.InMemoryCacheStore;
import io.lettuce.core.cluster.SlotHash;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import reactor.core.publisher.Mono;

/**
 * Where an entry lives, and that no key, whatever its characters, names what another key's entry,
 * lease or generation keeps (issue 15): the store keys come from the core's public
 * {@code CacheAside.storeKey}, under any cache name and generation, and the Redis keys from the
 * layout.
 */
class RedisKeyLayoutTest {

  /** A cache key, in a cache, under a generation. */
  record Entry(String cache, long generation, String key) {}

  /** What a store key is in the core, for a cache {@code name} at {@code generation}. */
  static String storeKey(Entry entry) {
    CacheStore fixedGeneration = new ForwardingCacheStore(InMemoryCacheStore.create()) {
      @Override
      public Mono<Long> generation(String namespace) {
        return Mono.just(entry.generation());
      }
    };
    return CacheAside.<String, String>builder(entry.cache()).store(fixedGeneration)
        .codec(Codec.utf8()).build().storeKey(entry.key()).block(Duration.ofSeconds(5));
  }

  /** Every Redis key an entry's cache may touch for it: value, lease, and the generation. */
  static Set<String> redisKeys(Entry entry) {
    String storeKey = storeKey(entry);
    return Set.of(RedisCacheStore.valueKey(storeKey), RedisCacheStore.leaseKey(storeKey),
        RedisKeyLayout.generationKey(entry.cache()));
  }

  @Provide
  Arbitrary<Entry> entries() {
    // Few characters, many of them the layout's own (separators, escapes, braces), so that every
    // arrangement of them turns up; and some Unicode beyond ASCII.
    Arbitrary<String> text = Arbitraries.strings().withChars(":%{}#g1aé😀 ").ofMinLength(1)
        .ofMaxLength(10).filter(RedisKeyLayoutTest::validUnicode);
    Arbitrary<Long> generations = Arbitraries.oneOf(Arbitraries.longs().between(1, 12),
        Arbitraries.longs().between(1_700_000_000_000_000L, 1_700_000_000_000_012L));
    return Combinators.combine(text.filter(name -> !name.isBlank()), generations, text)
        .as(Entry::new);
  }

  /** Whether every surrogate of {@code text} is half of a pair (the emoji's two chars). */
  static boolean validUnicode(String text) {
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (Character.isHighSurrogate(c) && i + 1 < text.length()
          && Character.isLowSurrogate(text.charAt(i + 1))) {
        i++;
      } else if (Character.isSurrogate(c)) {
        return false;
      }
    }
    return true;
  }

  @Property(tries = 3_000)
  void distinctEntries_neverShareARedisKey_butForTheirCachesGeneration(
      @ForAll("entries") Entry a, @ForAll("entries") Entry b) {
    if (a.equals(b)) {
      return;
    }
    Set<String> shared = new HashSet<>(redisKeys(a));
    shared.retainAll(redisKeys(b));
    if (a.cache().equals(b.cache())) {
      assertThat(shared).as("%s and %s", a, b)
          .containsExactly(RedisKeyLayout.generationKey(a.cache()));
    } else {
      assertThat(shared).as("%s and %s", a, b).isEmpty();
    }
  }

  /**
   * The invalidation channel names value and generation keys, concatenated: each ends at its
   * first brace, and gives back the store key or cache name it was made of.
   */
  @Property(tries = 3_000)
  void announcedKeys_giveBackTheirStoreKeyAndCacheName(@ForAll("entries") Entry a,
      @ForAll("entries") Entry b) {
    String storeKey = a.cache() + ":" + a.generation() + ":" + a.key();
    String valueKey = RedisKeyLayout.valueKey(storeKey);
    String generationKey = RedisKeyLayout.generationKey(b.cache());
    assertThat(valueKey.indexOf('}')).isEqualTo(valueKey.length() - 1);
    assertThat(generationKey.indexOf('}')).isEqualTo(generationKey.length() - 1);
    assertThat(RedisKeyLayout.storeKeyOf(valueKey)).isEqualTo(storeKey);
    assertThat(RedisKeyLayout.namespaceOf(valueKey)).isNull();
    assertThat(RedisKeyLayout.namespaceOf(generationKey)).isEqualTo(b.cache());
    assertThat(RedisKeyLayout.storeKeyOf(generationKey)).isNull();
    assertThat(RedisKeyLayout.storeKeyOf(RedisKeyLayout.leaseKeyOf(valueKey))).isNull();
  }

  @Property(tries = 3_000)
  void anEntrysValueAndLease_shareAHashSlot(@ForAll("entries") Entry entry) {
    String storeKey = storeKey(entry);
    assertThat(RedisKeyLayout.slot(RedisCacheStore.leaseKey(storeKey)))
        .isEqualTo(RedisKeyLayout.slot(RedisCacheStore.valueKey(storeKey)));
  }

  @Test
  void hashTagsInAKey_nameNoOtherEntrysLease() {
    // The value of {x}:lease used to be the lease of {x}.
    Entry braces = new Entry("c", 1, "{x}");
    Entry suffixed = new Entry("c", 1, "{x}:lease");
    assertThat(redisKeys(braces)).doesNotContainAnyElementsOf(
        List.of(RedisCacheStore.valueKey(storeKey(suffixed)),
            RedisCacheStore.leaseKey(storeKey(suffixed))));
    assertThat(RedisCacheStore.valueKey(storeKey(suffixed)))
        .isNotEqualTo(RedisCacheStore.leaseKey(storeKey(braces)));
  }

  @Test
  void aKeyThatSpellsAGeneration_isNotThatKeyUnderThatGeneration() {
    // victim#g1 at generation 0 used to be victim at generation 1.
    assertThat(storeKey(new Entry("c", 1, "victim#g2")))
        .isNotEqualTo(storeKey(new Entry("c", 2, "victim")));
    assertThat(storeKey(new Entry("c", 1, "victim:2")))
        .isNotEqualTo(storeKey(new Entry("c", 2, "victim")));
  }

  @Test
  void aCacheNamedLikeOurs_cannotReachAnotherCachesGeneration() {
    String generationOfProducts = RedisKeyLayout.generationKey("products");
    for (Entry entry : List.of(new Entry("cache-aside", 1, "generation:products"),
        new Entry("ca:g", 1, "products"), new Entry("ca", 1, "g:{products}"))) {
      String storeKey = storeKey(entry);
      assertThat(List.of(RedisCacheStore.valueKey(storeKey), RedisCacheStore.leaseKey(storeKey)))
          .as("%s", entry).doesNotContain(generationOfProducts);
    }
  }

  @Test
  void aLoneSurrogate_isRejected_notWrittenAsAQuestionMark() {
    CacheAside<String, String> cache = CacheAside.<String, String>builder("c")
        .store(InMemoryCacheStore.create()).codec(Codec.utf8()).build();
    assertThatThrownBy(() -> cache.cacheAside("x\uD800", k -> Mono.just("v")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("lone surrogate U+D800 at index 1");
    assertThat(cache.storeKey("x?").block()).as("a question mark is a key like any other")
        .endsWith(":x?");
    assertThat(cache.storeKey("😀").block()).as("a surrogate pair is fine").endsWith(":😀");
  }

  @ParameterizedTest(name = "{0} -> {1}")
  @CsvSource(delimiter = '|', value = {
      "products:1:42   | ca:{products:1:42}",
      "a{b}c           | ca:{a%7Bb%7Dc}",
      "50%             | ca:{50%25}",
      "%7B             | ca:{%257B}",
      "ünïcødé         | ca:{ünïcødé}",
  })
  void valueKey_escapesPercentAndBraces(String storeKey, String valueKey) {
    assertThat(RedisCacheStore.valueKey(storeKey)).isEqualTo(valueKey);
    assertThat(RedisCacheStore.leaseKey(storeKey)).isEqualTo(valueKey + ":l");
  }

  @Test
  void generationKey_ofACache() {
    assertThat(RedisKeyLayout.generationKey("products")).isEqualTo("ca:g:{products}");
    assertThat(RedisKeyLayout.generationKey("a}b")).isEqualTo("ca:g:{a%7Db}");
  }

  /**
   * The slot the store groups keys by is Redis's: CRC16 of the UTF-8 bytes, whatever the JVM's
   * default charset (Lettuce's {@code SlotHash.getSlot(String)} uses the default charset).
   */
  @ParameterizedTest
  @CsvSource({"ca:{é}", "ca:{ü}", "ca:{键}", "ca:{😀}", "ca:{plain}"})
  void slot_isTheHashOfTheUtf8Bytes_whateverTheDefaultCharset(String redisKey) {
    assertThat(RedisKeyLayout.slot(redisKey)).isEqualTo(
        SlotHash.getSlot(redisKey.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
  }

  @Test
  void keysOfOneCache_spreadOverSlots() {
    long distinct = java.util.stream.IntStream.range(0, 1_000)
        .map(i -> SlotHash.getSlot(RedisCacheStore.valueKey("products:1:" + i)))
        .distinct().count();
    assertThat(distinct).as("the whole store key is the tag, so keys spread").isGreaterThan(900);
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
        LeaseScripts.RELEASE_LEASE, GenerationScripts.READ, GenerationScripts.BUMP,
        GenerationScripts.TIME)) {
      assertThat(script.sha()).matches("[0-9a-f]{40}");
    }
  }
}
