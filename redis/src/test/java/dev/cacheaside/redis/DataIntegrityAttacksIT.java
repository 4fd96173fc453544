package dev.cacheaside.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.cacheaside.core.BulkResult;
import dev.cacheaside.core.CacheAside;
import dev.cacheaside.core.Codec;
import dev.cacheaside.redis.RedisFixture.Topology;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import dev.cacheaside.testing.Latches;
import io.lettuce.core.cluster.SlotHash;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Disabled;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.test.StepVerifier;

/**
 * Adversarial tests of issue 15's data-integrity claims on real Redis, standalone and cluster:
 * what another application sharing the Redis, or a Redis that loses or garbles its keys, can do
 * to a cache. Each test is an attack; a passing one documents that the attack is defended.
 */
class DataIntegrityAttacksIT {
  private static final Duration TIMEOUT = Duration.ofSeconds(30);

  private RedisFixture fixture;
  private final List<RedisCacheStore> closeAfter = new ArrayList<>();

  @AfterEach
  void close() {
    closeAfter.forEach(RedisCacheStore::close);
    if (fixture != null) {
      fixture.close();
    }
  }

  /** A new application instance of cache {@code name} on its own connections. */
  private CacheAside<String, String> instance(String name) {
    RedisCacheStore store = fixture.topology.newStore();
    closeAfter.add(store);
    return CacheAside.<String, String>builder(name).store(store).codec(Codec.utf8())
        .generationRefresh(Duration.ofHours(1)).build();
  }

  private static <T> T await(Mono<T> mono) {
    return mono.block(TIMEOUT);
  }

  private static byte[] bytes(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }

  // --- generation counters holding garbage -----------------------------------------------------

  /** What another application, or a person with redis-cli, may leave at a generation key. */
  static Stream<Arguments> garbageGenerations() {
    List<String> garbage = List.of("abc", "", "-5", "-1", "1.5", "0x10", " 7 ", "1e30", "inf",
        "nan", "9007199254740993", "99999999999999999999");
    return Stream.of(Topology.values())
        .flatMap(t -> garbage.stream().map(g -> Arguments.of(t, g)));
  }

  /**
   * The generation key holds a string that is not a counter. Reads are answered; a bump works and
   * hides every entry read before it; and the cache caches again afterwards.
   */
  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("garbageGenerations")
  void garbageInTheGenerationKey_readsAnswered_bumpHidesOlderEntries_cachingResumes(
      Topology topology, String garbage) {
    fixture = topology.open();
    String name = "garbled";
    fixture.raw.set(RedisKeyLayout.generationKey(name), bytes(garbage));

    CacheAside<String, String> before = instance(name);
    assertThat(await(before.cacheAside("k", k -> Mono.just("old row")))).isEqualTo("old row");
    assertThat(await(before.cacheAside("k", k -> Mono.just("old row")))).isEqualTo("old row");

    CacheAside<String, String> writer = instance(name);
    Long bumped = await(writer.bumpGeneration());
    assertThat(bumped).as("the bump's generation").isNotNull().isPositive();

    CacheAside<String, String> after = instance(name);
    assertThat(await(after.cacheAside("k", k -> Mono.just("new row"))))
        .as("no entry from before the bump").isEqualTo("new row");
    assertThat(await(after.cacheAside("k", k -> Mono.error(new AssertionError("loaded again")))))
        .as("caching works again").isEqualTo("new row");
    assertThat(await(after.storeKey("k"))).as("a store key of digits")
        .matches(name + ":[0-9]+:k");
  }

  /**
   * Another application keeps a hash at the generation key. It is not ours to overwrite: reads are
   * answered by the loader and cache nothing (the generation is unknown), the hash stays, and an
   * invalidation fails loudly instead of reporting a delete under a guessed generation.
   */
  @ParameterizedTest
  @EnumSource(Topology.class)
  void aHashAtTheGenerationKey_readsAnsweredUncached_leftAlone_bumpFailsLoudly(Topology topology) {
    fixture = topology.open();
    String name = "hashed";
    String generationKey = RedisKeyLayout.generationKey(name);
    fixture.raw.hset(generationKey, "theirs", bytes("field"));
    CacheAside<String, String> cache = instance(name);
    AtomicInteger loads = new AtomicInteger();
    Function<String, Mono<String>> loader = k -> {
      loads.incrementAndGet();
      return Mono.just("row " + k);
    };

    assertThat(await(cache.cacheAside("k", loader))).isEqualTo("row k");
    assertThat(bulk(cache, List.of("a", "b"), loader)).containsExactlyInAnyOrderEntriesOf(
        Map.of("a", "row a", "b", "row b"));
    assertThat(loads).hasValue(3);
    StepVerifier.create(cache.bumpGeneration()).expectError().verify(TIMEOUT);
    StepVerifier.create(cache.invalidate("k")).expectError().verify(TIMEOUT);
    assertThat(fixture.raw.hget(generationKey, "theirs")).isEqualTo(bytes("field"));
    assertThat(fixture.raw.type(generationKey)).isEqualTo("hash");
    assertThat(allKeys()).as("nothing cached under a guessed generation")
        .containsExactly(generationKey);
  }

  // --- crafted keys and names --------------------------------------------------------------------

  /** Keys a hostile request may bring: the layouts' own characters, and worse. */
  static final List<String> CRAFTED_KEYS = List.of("42", "{42}", "}42{", "{", "}", "{}", "}{",
      "a{b}c", "{a}:l", "42:l", ":l", "l", "ca:{x}", "ca:g:{x}", "ca:{x}:l", "x}:l", "%7B", "%257B",
      "%", "%%", "%3A", ":", "::", "1:2", "crafted:1:42", "#g1", "victim#g2", "\u0000",
      "a\u0000b", "é", "e\u0301", "😀", "\uFEFF", " ", "\t", "\r\n", "ключ", "键", "?",
      "x".repeat(70_000));

  /**
   * Every crafted key is cached by one instance and read by another: each reads exactly its own
   * value, nothing is loaded twice, Redis holds exactly one value key per entry and the
   * generation (no lease left), and each value key shares its lease key's slot as Redis itself
   * hashes them ({@code CLUSTER KEYSLOT}, on the UTF-8 bytes the server sees).
   */
  @ParameterizedTest
  @EnumSource(Topology.class)
  void craftedKeys_eachReachesOnlyItsOwnEntry_valueAndLeaseInOneSlotAsRedisHashesThem(
      Topology topology) {
    fixture = topology.open();
    String name = "crafted";
    CacheAside<String, String> writer = instance(name);
    CacheAside<String, String> reader = instance(name);
    AtomicInteger loads = new AtomicInteger();
    for (int i = 0; i < CRAFTED_KEYS.size(); i++) {
      String value = "value " + i;
      assertThat(await(writer.cacheAside(CRAFTED_KEYS.get(i), k -> {
        loads.incrementAndGet();
        return Mono.just(value);
      }))).isEqualTo(value);
    }
    for (int i = 0; i < CRAFTED_KEYS.size(); i++) {
      assertThat(await(reader.cacheAside(CRAFTED_KEYS.get(i),
          k -> Mono.error(new AssertionError("loaded again: " + k)))))
          .as("key #%d", i).isEqualTo("value " + i);
    }
    assertThat(loads).hasValue(CRAFTED_KEYS.size());

    Set<String> expected = new HashSet<>();
    expected.add(RedisKeyLayout.generationKey(name));
    for (String key : CRAFTED_KEYS) {
      String storeKey = await(reader.storeKey(key));
      String valueKey = RedisCacheStore.valueKey(storeKey);
      expected.add(valueKey);
      if (topology == Topology.CLUSTER) {
        long slot = fixture.raw.clusterKeyslot(valueKey);
        assertThat(fixture.raw.clusterKeyslot(RedisCacheStore.leaseKey(storeKey)))
            .as("lease of %s", storeKey).isEqualTo(slot);
        assertThat((long) SlotHash.getSlot(valueKey.getBytes(StandardCharsets.UTF_8)))
            .as("the client's slot of %s", storeKey).isEqualTo(slot);
      }
    }
    assertThat(allKeys()).containsExactlyInAnyOrderElementsOf(expected);
  }

  /**
   * The same keys in one bulk read and again in another: every key answered with its own value,
   * the second read all hits, no store error (in a cluster the keys are split by slot, and a slot
   * computed from other bytes than Redis hashes would put keys of two slots in one script).
   */
  @ParameterizedTest
  @EnumSource(Topology.class)
  void craftedKeys_inBulk_eachAnsweredWithItsOwnValue_thenAllHits_noStoreError(
      Topology topology) {
    fixture = topology.open();
    CacheAside<String, String> writer = instance("crafted-bulk");
    CacheAside<String, String> reader = instance("crafted-bulk");
    Map<String, String> values = new HashMap<>();
    for (int i = 0; i < CRAFTED_KEYS.size(); i++) {
      values.put(CRAFTED_KEYS.get(i), "value " + i);
    }
    AtomicInteger loaded = new AtomicInteger();
    Function<String, Mono<String>> never = k -> Mono.error(new AssertionError("loaded " + k));

    assertThat(bulk(writer, CRAFTED_KEYS, k -> {
      loaded.incrementAndGet();
      return Mono.just(values.get(k));
    })).containsExactlyInAnyOrderEntriesOf(values);
    assertThat(bulk(reader, CRAFTED_KEYS, never)).containsExactlyInAnyOrderEntriesOf(values);

    assertThat(loaded).hasValue(CRAFTED_KEYS.size());
    assertThat(reader.stats().hits()).isEqualTo(CRAFTED_KEYS.size());
    assertThat(writer.stats().storeErrors() + reader.stats().storeErrors()).isZero();
  }

  /**
   * Non-ASCII keys that differ only beyond ASCII, in one bulk read on a cluster: the store groups
   * keys by slot for its scripts. Lettuce's {@code SlotHash.getSlot(String)} hashes the JVM's
   * default charset; on a JVM whose default is not UTF-8 (JDK 17 under LANG=C) all these keys
   * read "?" and land in one group, which Redis refuses with CROSSSLOT. Run with
   * {@code -Dtest.jvm.args=-Dfile.encoding=US-ASCII} to see it.
   */
  @ParameterizedTest
  @EnumSource(Topology.class)
  void keysThatDifferOnlyBeyondAscii_inOneBulkRead_areLeasedAndStored_noStoreError(
      Topology topology) {
    fixture = topology.open();
    CacheAside<String, String> cache = instance("ünïcødé");
    List<String> keys = List.of("é", "ü", "ï", "ø", "键", "ключ", "😀", "🙂");
    Function<String, Mono<String>> loader = k -> Mono.just("row " + k);
    Map<String, String> expected = new HashMap<>();
    keys.forEach(k -> expected.put(k, "row " + k));

    assertThat(bulk(cache, keys, loader)).containsExactlyInAnyOrderEntriesOf(expected);
    assertThat(bulk(cache, keys, k -> Mono.error(new AssertionError("loaded again " + k))))
        .containsExactlyInAnyOrderEntriesOf(expected);
    assertThat(cache.stats().storeErrors()).as("no CROSSSLOT").isZero();
    assertThat(cache.stats().hits()).isEqualTo(keys.size());
  }

  /**
   * Cache names crafted to meet: a name that is another's name plus a generation, one with
   * escapes, one that spells our prefixes, braces, NUL. Each has its own generation key, its own
   * entries (the same cache key in each holds each cache's value), and a bump of one reaches
   * only that one.
   */
  @ParameterizedTest
  @EnumSource(Topology.class)
  void craftedCacheNames_ownEntriesAndGenerations_aBumpReachesOnlyItsCache(Topology topology) {
    fixture = topology.open();
    List<String> names = List.of("n", "n:1", "n%3A1", "n%253A1", "n:", "{n}", "n}", "{n",
        "ca:g:{n}", "ca:{n}", "n:l", "n\u0000", "ñ", "%", ":", "n#g1");
    List<CacheAside<String, String>> caches = new ArrayList<>();
    for (String name : names) {
      caches.add(instance(name));
    }
    List<String> keys = List.of("k", "1:k", "l");
    for (int c = 0; c < caches.size(); c++) {
      for (String key : keys) {
        String value = names.get(c) + "/" + key;
        assertThat(await(caches.get(c).cacheAside(key, k -> Mono.just(value)))).isEqualTo(value);
      }
    }
    Set<String> generationKeys = new HashSet<>();
    names.forEach(n -> generationKeys.add(RedisKeyLayout.generationKey(n)));
    assertThat(generationKeys).hasSize(names.size());
    assertThat(allKeys()).containsAll(generationKeys).hasSize(names.size() * 4);

    int bumped = 1; // "n:1", whose entries a naive layout would mix with "n"'s generation 1
    await(caches.get(bumped).bumpGeneration());
    for (int c = 0; c < caches.size(); c++) {
      for (String key : keys) {
        String cached = names.get(c) + "/" + key;
        String value = await(caches.get(c).cacheAside(key, k -> Mono.just("reloaded")));
        assertThat(value).as("cache %s key %s", names.get(c), key)
            .isEqualTo(c == bumped ? "reloaded" : cached);
      }
    }
  }

  /**
   * A lone surrogate has no UTF-8 form (the codec would write "?"), so a name or key holding one
   * fails at once, single and bulk, and never reaches the entry of the key spelt with "?"; an
   * empty key fails too.
   */
  @ParameterizedTest
  @EnumSource(Topology.class)
  void loneSurrogatesAndEmptyKeys_failAtOnce_neverReachTheQuestionMarksEntry(Topology topology) {
    fixture = topology.open();
    RedisCacheStore store = fixture.topology.newStore();
    closeAfter.add(store);
    for (String name : List.of("c\uD800", "\uDC00c", "c\uD83D")) {
      assertThatThrownBy(() -> CacheAside.<String, String>builder(name).store(store)
          .codec(Codec.utf8()).build()).as("name %s", name)
          .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("lone surrogate");
    }
    CacheAside<String, String> cache = instance("surrogates");
    assertThat(await(cache.cacheAside("x?", k -> Mono.just("question mark's")))).isNotNull();
    for (String key : List.of("x\uD800", "x\uDFFF", "\uDBFFx")) {
      assertThatThrownBy(() -> cache.cacheAside(key, k -> Mono.just("surrogate's")))
          .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("lone surrogate");
      StepVerifier.create(cache.cacheAsideAll(Flux.just("x?", key),
              ids -> Mono.just(Map.of())))
          // A bulk read fails when its stream reaches the bad key: a window cut before it may
          // already have answered "x?" (from its own entry).
          .thenConsumeWhile(r -> r.key().equals("x?") && "question mark's".equals(r.value()))
          .expectErrorSatisfies(e -> assertThat(e).isInstanceOf(IllegalArgumentException.class)
              .hasMessageContaining("lone surrogate"))
          .verify(TIMEOUT);
    }
    assertThatThrownBy(() -> cache.cacheAside("", k -> Mono.just("empty")))
        .isInstanceOf(IllegalArgumentException.class);
    assertThat(await(cache.cacheAside("x?", k -> Mono.error(new AssertionError("reloaded")))))
        .isEqualTo("question mark's");
    assertThat(allKeys()).hasSize(2);
  }

  // --- values another application wrote at our keys ----------------------------------------------

  /** Bytes that are not this library's envelope, or another version's. */
  static Stream<Arguments> foreignValues() {
    byte[] futureFormat = new byte[40];
    futureFormat[0] = (byte) 0xCA;
    futureFormat[1] = 3;
    byte[] oldFormat = new byte[23];
    oldFormat[0] = (byte) 0xCA;
    oldFormat[1] = 1;
    byte[] otherSchema = new byte[27];
    otherSchema[0] = (byte) 0xCA;
    otherSchema[1] = 2;
    otherSchema[6] = 9;
    byte[] otherSchemaBadFlags = otherSchema.clone();
    otherSchemaBadFlags[2] = (byte) 0xFF;
    List<byte[]> values = List.of(new byte[0], new byte[] {(byte) 0xCA}, new byte[] {0},
        new byte[] {(byte) 0xCA, 0x7F}, futureFormat, oldFormat, otherSchema, otherSchemaBadFlags,
        bytes("another application's string"), bytes("{\"json\":true}"));
    return Stream.of(Topology.values())
        .flatMap(t -> values.stream().map(v -> Arguments.of(t, v)));
  }

  /**
   * A value that is not our envelope (or another version's) at a key's value key, single and bulk:
   * the reads are answered by the loader, the value is never deleted nor overwritten, and it is
   * counted, never as corrupt.
   */
  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("foreignValues")
  void foreignBytes_atOurValueKey_loadedAround_neverDeletedNorOverwritten(Topology topology,
      byte[] theirs) {
    fixture = topology.open();
    CacheAside<String, String> cache = instance("shared");
    String valueKey = RedisCacheStore.valueKey(await(cache.storeKey("k")));
    fixture.raw.set(valueKey, theirs);
    AtomicInteger loads = new AtomicInteger();
    Function<String, Mono<String>> loader = k -> {
      loads.incrementAndGet();
      return Mono.just("ours " + k);
    };
    for (int i = 0; i < 2; i++) {
      assertThat(await(cache.cacheAside("k", loader))).isEqualTo("ours k");
      assertThat(bulk(cache, List.of("k", "other"), loader))
          .containsExactlyInAnyOrderEntriesOf(Map.of("k", "ours k", "other", "ours other"));
    }
    assertThat(fixture.raw.get(valueKey)).as("left as it was").isEqualTo(theirs);
    assertThat(loads).as("k loaded each time, 'other' once").hasValue(5);
    assertThat(cache.stats().foreignEntries() + cache.stats().otherVersionEntries())
        .isGreaterThanOrEqualTo(4);
    assertThat(cache.stats().corruptEntries()).isZero();
  }

  /**
   * What the brief calls a truncated header, with our magic and format version (0xCA 0x02): by
   * ARCHITECTURE's rule these bytes are ours and broken, so they are deleted as corrupt; a single
   * 0xCA byte is not (the previous test). Documents where "recognisably ours" is drawn: two bytes.
   */
  @ParameterizedTest
  @EnumSource(Topology.class)
  void magicAndFormatVersion_withATruncatedHeader_isOursAndBroken_deletedAsCorrupt(
      Topology topology) {
    fixture = topology.open();
    CacheAside<String, String> cache = instance("truncated");
    String valueKey = RedisCacheStore.valueKey(await(cache.storeKey("k")));
    fixture.raw.set(valueKey, new byte[] {(byte) 0xCA, 2, 0});

    assertThat(await(cache.cacheAside("k", k -> Mono.just("ours")))).isEqualTo("ours");
    assertThat(cache.stats().corruptEntries()).isEqualTo(1);
    byte[] now = fixture.raw.get(valueKey);
    assertThat(now).as("our envelope replaced it").hasSizeGreaterThan(27);
  }

  /**
   * Another application keeps a hash, a list or a set at a key's value key (GET and the lease
   * script then fail with WRONGTYPE): single and bulk reads are answered, that key is never
   * touched, and the other keys of the bulk read still get cached.
   */
  @ParameterizedTest
  @EnumSource(Topology.class)
  void otherRedisTypes_atOurValueKeys_readsAnswered_leftAlone_otherKeysStillCached(
      Topology topology) {
    fixture = topology.open();
    CacheAside<String, String> cache = instance("typed");
    String hashKey = RedisCacheStore.valueKey(await(cache.storeKey("h")));
    String listKey = RedisCacheStore.valueKey(await(cache.storeKey("l")));
    fixture.raw.hset(hashKey, "f", bytes("theirs"));
    fixture.raw.rpush(listKey, bytes("theirs"));
    AtomicInteger loads = new AtomicInteger();
    Function<String, Mono<String>> loader = k -> {
      loads.incrementAndGet();
      return Mono.just("ours " + k);
    };

    assertThat(await(cache.cacheAside("h", loader))).isEqualTo("ours h");
    assertThat(bulk(cache, List.of("h", "l", "a", "b"), loader)).containsExactlyInAnyOrderEntriesOf(
        Map.of("h", "ours h", "l", "ours l", "a", "ours a", "b", "ours b"));
    assertThat(fixture.raw.type(hashKey)).isEqualTo("hash");
    assertThat(fixture.raw.type(listKey)).isEqualTo("list");
    assertThat(fixture.raw.hget(hashKey, "f")).isEqualTo(bytes("theirs"));

    int before = loads.get();
    assertThat(bulk(cache, List.of("a", "b"), loader)).as("a and b were cached")
        .containsExactlyInAnyOrderEntriesOf(Map.of("a", "ours a", "b", "ours b"));
    assertThat(loads).hasValue(before);
  }

  /**
   * Reads {@code k} of a new cache {@code name}; while its load holds the lease, {@code meanwhile}
   * is given the value key to write; then the load answers "ours", which the read returns.
   *
   * @return the value key
   */
  private String leasedLoadRacing(String name, Consumer<String> meanwhile) {
    CacheAside<String, String> cache = instance(name);
    String valueKey = RedisCacheStore.valueKey(await(cache.storeKey("k")));
    Sinks.One<String> release = Sinks.one();
    CountDownLatch loading = new CountDownLatch(1);
    StepVerifier read = StepVerifier.create(cache.cacheAside("k", k -> {
      loading.countDown();
      return release.asMono();
    })).expectNext("ours").expectComplete().verifyLater();
    Latches.await(loading, "the load to start under the lease");
    meanwhile.accept(valueKey);
    release.tryEmitValue("ours");
    read.verify(TIMEOUT);
    assertThat(fixture.raw.exists(RedisCacheStore.leaseKey(await(cache.storeKey("k")))))
        .as("the lease was ended").isZero();
    return valueKey;
  }

  /**
   * Another application writes its value at a key's value key while this library's load of the
   * key holds the lease (the value key was empty when the lease was granted). README: a value
   * this library did not write is never overwritten.
   */
  @ParameterizedTest
  @EnumSource(Topology.class)
  void foreignValueWrittenDuringOurLeasedLoad_isNotOverwritten(Topology topology) {
    fixture = topology.open();
    byte[] theirs = bytes("another application's value");
    String valueKey = leasedLoadRacing("racing", key -> fixture.raw.set(key, theirs));
    assertThat(fixture.raw.get(valueKey)).as("their value").isEqualTo(theirs);
  }

  /** As above, with a value of another Redis type (a hash), which a plain SET would replace. */
  @ParameterizedTest
  @EnumSource(Topology.class)
  void foreignHashWrittenDuringOurLeasedLoad_isNotReplaced(Topology topology) {
    fixture = topology.open();
    String valueKey =
        leasedLoadRacing("racing-hash", key -> fixture.raw.hset(key, "f", bytes("theirs")));
    assertThat(fixture.raw.type(valueKey)).isEqualTo("hash");
    assertThat(fixture.raw.hget(valueKey, "f")).isEqualTo(bytes("theirs"));
  }

  /** As above, with an empty string: not our mark either. */
  @ParameterizedTest
  @EnumSource(Topology.class)
  void foreignEmptyStringWrittenDuringOurLeasedLoad_isNotOverwritten(Topology topology) {
    fixture = topology.open();
    String valueKey = leasedLoadRacing("racing-empty", key -> fixture.raw.set(key, new byte[0]));
    assertThat(fixture.raw.get(valueKey)).isEmpty();
  }

  /**
   * A bulk read's window loads two keys under their leases; another application writes one of
   * them meanwhile: that one is left as they wrote it, the other is cached.
   */
  @ParameterizedTest
  @EnumSource(Topology.class)
  void foreignValueWrittenDuringABulkLeasedLoad_onlyThatKeyIsLeft(Topology topology) {
    fixture = topology.open();
    CacheAside<String, String> cache = instance("racing-bulk");
    String theirKey = RedisCacheStore.valueKey(await(cache.storeKey("a")));
    byte[] theirs = bytes("another application's value");
    Sinks.One<String> release = Sinks.one();
    CountDownLatch loading = new CountDownLatch(1);
    StepVerifier read = StepVerifier.create(cache.cacheAsideAll(Flux.just("a", "b"),
            ids -> {
              loading.countDown();
              return release.asMono().thenReturn(Map.of("a", "ours a", "b", "ours b"));
            }).collectList())
        .expectNextCount(1).expectComplete().verifyLater();
    Latches.await(loading, "the bulk load to start under the leases");
    fixture.raw.set(theirKey, theirs);
    release.tryEmitValue("go");
    read.verify(TIMEOUT);

    assertThat(fixture.raw.get(theirKey)).as("their value").isEqualTo(theirs);
    assertThat(bulk(cache, List.of("b"), id -> Mono.just("loaded again")))
        .as("b was cached").containsExactlyEntriesOf(Map.of("b", "ours b"));
  }


  /**
   * Another application on the same Redis uses this library with the same cache name, a value
   * type of another shape and the same (default) schema version. Names are the namespace of the
   * whole Redis, so the two share entries: one application's entry that the other's codec cannot
   * decode is "ours, broken" to it and deleted as corrupt, and one it can decode (UTF-8 decodes
   * any bytes) is served as its own value. Documents the limit of the ALIEN rule: only a distinct
   * cache name or schemaVersion keeps two applications apart.
   */
  @ParameterizedTest
  @EnumSource(Topology.class)
  void sameCacheNameInAnotherApplication_sameSchemaVersion_entriesDeletedOrServedAsItsOwn(
      Topology topology) {
    fixture = topology.open();
    CacheAside<String, String> strings = instance("users");
    RedisCacheStore store = fixture.topology.newStore();
    closeAfter.add(store);
    CacheAside<String, Long> numbers = CacheAside.<String, Long>builder("users").store(store)
        .codec(new Codec<Long>() {
          @Override
          public byte[] encode(Long value) {
            return java.nio.ByteBuffer.allocate(8).putLong(value).array();
          }

          @Override
          public Long decode(byte[] bytes) {
            if (bytes.length != 8) {
              throw new IllegalArgumentException(bytes.length + " bytes are no long");
            }
            return java.nio.ByteBuffer.wrap(bytes).getLong();
          }
        }).build();
    String valueKey = RedisCacheStore.valueKey(await(strings.storeKey("42")));

    assertThat(await(strings.cacheAside("42", k -> Mono.just("alice@example.com"))))
        .isEqualTo("alice@example.com");
    assertThat(await(numbers.cacheAside("42", k -> Mono.just(7L)))).isEqualTo(7L);
    assertThat(numbers.stats().corruptEntries()).as("the other's entry is 'ours, broken'")
        .isEqualTo(1);
    assertThat(await(strings.cacheAside("42", k -> Mono.just("alice@example.com"))))
        .as("utf8 decodes the other's 8 bytes: served as this cache's value")
        .isEqualTo(new String(java.nio.ByteBuffer.allocate(8).putLong(7L).array(),
            StandardCharsets.UTF_8));
    assertThat(fixture.raw.get(valueKey)).isNotNull();
  }

  // --- two schema versions, in bulk ----------------------------------------------------------

  /**
   * Two deploys with different schema versions alternate bulk reads of the same keys, found and
   * "not found" ones: each is answered in its own shape, neither deletes the other's entries
   * (their bytes stay as written), and the first writer's entries stay cached.
   */
  @ParameterizedTest
  @EnumSource(Topology.class)
  void twoSchemaVersions_alternatingBulkReads_ownShapes_nothingDeletedNorOverwritten(
      Topology topology) {
    fixture = topology.open();
    CacheAside<String, String> v1 = versioned(1);
    CacheAside<String, String> v2 = versioned(2);
    List<String> keys = List.of("a", "b", "gone");
    AtomicInteger v1Loads = new AtomicInteger();
    AtomicInteger v2Loads = new AtomicInteger();
    Map<String, String> written = null;
    for (int round = 0; round < 3; round++) {
      Map<String, String> first = bulk(v1, keys, k -> {
        v1Loads.incrementAndGet();
        return k.equals("gone") ? Mono.empty() : Mono.just("v1 " + k);
      });
      Map<String, String> expectedV1 = new HashMap<>();
      expectedV1.put("a", "v1 a");
      expectedV1.put("b", "v1 b");
      expectedV1.put("gone", null);
      assertThat(first).isEqualTo(expectedV1);
      if (written == null) {
        written = rawValues(v1, keys);
      }
      Map<String, String> second = bulk(v2, keys, k -> {
        v2Loads.incrementAndGet();
        return k.equals("gone") ? Mono.empty() : Mono.just("v2 " + k);
      });
      Map<String, String> expectedV2 = new HashMap<>();
      expectedV2.put("a", "v2 a");
      expectedV2.put("b", "v2 b");
      expectedV2.put("gone", null);
      assertThat(second).isEqualTo(expectedV2);
      assertThat(await(v2.cacheAside("a", k -> Mono.just("v2 a")))).isEqualTo("v2 a");
    }
    assertThat(v1Loads).as("v1 cached its entries, negatives included, once").hasValue(3);
    assertThat(v2Loads).as("v2 loads around v1's entries each round").hasValue(9);
    assertThat(rawValues(v1, keys)).as("v1's entries untouched").isEqualTo(written);
    assertThat(v1.stats().corruptEntries() + v2.stats().corruptEntries()).isZero();
    assertThat(v2.stats().otherVersionEntries()).isGreaterThanOrEqualTo(9);
  }

  private CacheAside<String, String> versioned(int schemaVersion) {
    RedisCacheStore store = fixture.topology.newStore();
    closeAfter.add(store);
    return CacheAside.<String, String>builder("versions").store(store).codec(Codec.utf8())
        .schemaVersion(schemaVersion).build();
  }

  /** The raw bytes at each key's value key, hex, for comparing. */
  private Map<String, String> rawValues(CacheAside<String, String> cache, List<String> keys) {
    Map<String, String> values = new HashMap<>();
    for (String key : keys) {
      byte[] raw = fixture.raw.get(RedisCacheStore.valueKey(await(cache.storeKey(key))));
      values.put(key, raw == null ? null : java.util.HexFormat.of().formatHex(raw));
    }
    return values;
  }

  // --- clocks ----------------------------------------------------------------------------------

  /**
   * An instance ten minutes ahead whose first call is a bump (an invalidation listener's
   * reconnect does one) then reads entries another instance wrote with a one-minute TTL. It has
   * not read the generation, so unless the bump also taught it the store's clock it judges them by
   * its own and reloads them.
   */
  @ParameterizedTest
  @EnumSource(Topology.class)
  void clockAhead_bumpBeforeTheFirstRead_stillJudgesEntriesByTheStoresClock(Topology topology) {
    fixture = topology.open();
    Clock ahead = Clock.offset(Clock.systemUTC(), Duration.ofMinutes(10));
    CacheAside<String, String> early = skewed(ahead);
    CacheAside<String, String> late = skewed(Clock.systemUTC());
    AtomicInteger loads = new AtomicInteger();
    Function<String, Mono<String>> loader = k -> {
      loads.incrementAndGet();
      return Mono.just("v" + k);
    };

    await(early.bumpGeneration());
    assertThat(await(late.cacheAside("single", loader))).isEqualTo("vsingle");
    assertThat(bulk(late, List.of("b1", "b2"), loader)).hasSize(2);
    assertThat(loads).hasValue(3);

    assertThat(await(early.cacheAside("single", loader))).isEqualTo("vsingle");
    assertThat(bulk(early, List.of("b1", "b2"), loader))
        .containsExactlyInAnyOrderEntriesOf(Map.of("b1", "vb1", "b2", "vb2"));
    assertThat(loads).as("the other instance's fresh entries are hits").hasValue(3);
    assertThat(early.stats().hits()).isEqualTo(3);
  }

  private CacheAside<String, String> skewed(Clock clock) {
    RedisCacheStore store = fixture.topology.newStore();
    closeAfter.add(store);
    return CacheAside.<String, String>builder("skew-bump").store(store).codec(Codec.utf8())
        .ttl(Duration.ofMinutes(1)).clock(clock).generationRefresh(Duration.ofHours(1)).build();
  }

  // --- lost generations, in bulk ---------------------------------------------------------------

  /**
   * The FLUSHALL scenario of {@code CacheAsideOnRedisIT}, read in bulk: entries an instance
   * wrote under the generation Redis lost are never served after an invalidation.
   */
  @ParameterizedTest
  @EnumSource(Topology.class)
  void generationLost_entriesWrittenInBulkUnderTheOldOne_neverServedInBulkAfterABump(
      Topology topology) {
    fixture = topology.open();
    List<String> keys = List.of("a", "b", "c");
    CacheAside<String, String> remembering = instance("lost-bulk");
    assertThat(bulk(remembering, keys, k -> Mono.just("cached " + k))).hasSize(3);
    fixture.flushAll();
    assertThat(bulk(remembering, keys, k -> Mono.just("old " + k)))
        .containsEntry("a", "old a");

    await(instance("lost-bulk").bumpGeneration());
    assertThat(bulk(instance("lost-bulk"), keys, k -> Mono.just("new " + k)))
        .containsExactlyInAnyOrderEntriesOf(Map.of("a", "new a", "b", "new b", "c", "new c"));
  }

  /**
   * Redis comes back with an older state of the generation key: a restart from an RDB snapshot
   * taken before the last bump, or a failover to a replica that had not received it. The counter
   * then goes back to a generation already given out, and entries written under it (restored
   * with it, or written meanwhile by an instance still on it) are served again after the
   * invalidation the bump was. README promises never-reused generations only for a FLUSHALL or a
   * restart without persistence; a restored state also brings back entries whose single-key
   * invalidations (DELs) it lost, which no generation can prevent.
   */
  @ParameterizedTest
  @EnumSource(Topology.class)
  @Disabled("limitation (not promised by README): a generation key rolled back to an older value"
      + " by a snapshot restore or a failover to a lagging replica makes a generation given out"
      + " before reachable again; an instance that remembers a higher generation could notice"
      + " (read < remembered) and bump, but instances that start meanwhile would still serve"
      + " the old entries for a refresh interval")
  void generationKeyRolledBack_entriesOfTheOlderGeneration_notServedAfterTheBump(
      Topology topology) {
    fixture = topology.open();
    String generationKey = RedisKeyLayout.generationKey("rolled-back");
    CacheAside<String, String> before = instance("rolled-back");
    assertThat(await(before.cacheAside("k", k -> Mono.just("old row")))).isEqualTo("old row");
    byte[] snapshot = fixture.raw.get(generationKey);

    CacheAside<String, String> writer = instance("rolled-back");
    await(writer.bumpGeneration());
    fixture.raw.set(generationKey, snapshot);

    assertThat(await(instance("rolled-back").cacheAside("k", k -> Mono.just("new row"))))
        .isEqualTo("new row");
  }

  // --- helpers -----------------------------------------------------------------------------------

  /** A bulk read of {@code keys}, each loaded by {@code loader}: key to value (null: absent). */
  private static Map<String, String> bulk(CacheAside<String, String> cache, List<String> keys,
      Function<String, Mono<String>> loader) {
    List<BulkResult<String, String>> results = cache.cacheAsideAll(Flux.fromIterable(keys),
        ids -> Flux.fromIterable(ids)
            .concatMap(id -> loader.apply(id).map(v -> Map.entry(id, v)))
            .collectMap(Map.Entry::getKey, Map.Entry::getValue))
        .collectList().block(TIMEOUT);
    Map<String, String> values = new HashMap<>();
    for (BulkResult<String, String> result : results) {
      if (result.isFailed()) {
        throw new AssertionError("bulk read of " + result.key() + " failed", result.error());
      }
      values.put(result.key(), result.value());
    }
    assertThat(values.keySet()).containsExactlyInAnyOrderElementsOf(keys);
    return values;
  }

  /** Every key on every server. */
  private Set<String> allKeys() {
    Set<String> keys = new HashSet<>();
    fixture.servers().forEach(server -> keys.addAll(server.keys("*")));
    return keys;
  }
}
