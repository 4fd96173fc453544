package dev.cacheaside.core.testkit;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.cacheaside.core.spi.CacheStore;
import dev.cacheaside.core.spi.CacheStore.KeyedLookup;
import dev.cacheaside.core.spi.CacheStore.LeasedEntry;
import dev.cacheaside.core.spi.CacheStore.StoreEntry;
import dev.cacheaside.core.spi.StoreLookup;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.test.StepVerifier;

/**
 * The semantics every {@link CacheStore} must have, whatever holds the bytes: one suite, run
 * against core's in-memory store and against Redis, standalone and cluster, so the core can rely
 * on one behaviour. A subclass supplies a fresh, empty store per test and says how to look at
 * TTLs and how to let a lease expire; a new store passes the suite by adding one such class:
 *
 * <pre>{@code
 * class MemcachedCacheStoreIT extends CacheStoreContract {
 *   private MemcachedCacheStore store;
 *
 *   @BeforeEach
 *   void open() { store = MemcachedCacheStore.create(TestMemcached.get().client()); }
 *
 *   @AfterEach
 *   void close() { store.close(); }
 *
 *   @Override protected CacheStore store() { return store; }
 *   @Override protected void assertExpiresAfter(String key, Duration ttl) { ... }
 *   @Override protected void awaitLeaseExpiry(String key, Duration leaseTtl) { ... }
 *   @Override protected Duration shortLeaseTtl() { return Duration.ofMillis(100); }
 * }
 * }</pre>
 *
 * <p>The module takes core's test kit as a test dependency:
 * {@code <artifactId>cache-aside-core</artifactId><type>test-jar</type><scope>test</scope>}.
 */
public abstract class CacheStoreContract {
  /** The longest a single store call may take in these tests; not a timing assertion. */
  public static final Duration TIMEOUT = Duration.ofSeconds(10);
  /** A TTL that outlives every test. */
  public static final Duration LONG_TTL = Duration.ofMinutes(5);
  /** A lease TTL that outlives every test. */
  public static final Duration LEASE_TTL = Duration.ofSeconds(30);

  /** For subclasses. */
  protected CacheStoreContract() {}

  /** The store under test: a new empty one for each test. */
  protected abstract CacheStore store();

  /**
   * Asserts that the value of {@code key}, written in this test, lives about {@code ttl} from
   * when it was written: present just before, absent from then on. Call it at the end of a test,
   * for several keys in ascending TTL order (a store with a fake clock moves it).
   */
  protected abstract void assertExpiresAfter(String key, Duration ttl);

  /** Returns once the lease on {@code key}, taken with {@code leaseTtl}, has expired. */
  protected abstract void awaitLeaseExpiry(String key, Duration leaseTtl);

  /** A lease TTL that {@link #awaitLeaseExpiry} can wait out quickly. */
  protected abstract Duration shortLeaseTtl();

  /**
   * Makes the store lose every generation it keeps, as a flush or a restart without persistence
   * does; false when it cannot lose them (the default), and the test that needs it is skipped.
   */
  protected boolean loseGenerations() {
    return false;
  }

  /** The value of {@code mono}, waiting at most {@link #TIMEOUT}; null when it completes empty. */
  public static <T> T await(Mono<T> mono) {
    return mono.block(TIMEOUT);
  }

  /** {@code text} as UTF-8. */
  public static byte[] bytes(String text) {
    return text.getBytes(UTF_8);
  }

  /** {@code bytes} read as UTF-8. */
  public static String text(byte[] bytes) {
    return new String(bytes, UTF_8);
  }

  /**
   * {@code text} as a value this library would store: {@link CacheStore#ENTRY_MARK} first, so
   * that {@code setIfLeased} may replace it.
   */
  public static byte[] ours(String text) {
    byte[] body = bytes(text);
    byte[] value = new byte[body.length + 1];
    value[0] = CacheStore.ENTRY_MARK;
    System.arraycopy(body, 0, value, 1, body.length);
    return value;
  }

  private String grantedToken(String key) {
    StoreLookup lookup = await(store().getOrLease(key, LEASE_TTL));
    assertThat(lookup).as("lookup of %s", key).isInstanceOf(StoreLookup.Granted.class);
    return ((StoreLookup.Granted) lookup).token();
  }

  private Map<String, StoreLookup> lookupsByKey(Flux<KeyedLookup> lookups) {
    List<KeyedLookup> list = lookups.collectList().block(TIMEOUT);
    assertThat(list).isNotNull();
    assertThat(list.stream().map(KeyedLookup::key)).as("one lookup per distinct key")
        .doesNotHaveDuplicates();
    return list.stream().collect(Collectors.toMap(KeyedLookup::key, KeyedLookup::lookup));
  }

  // --- get / set -------------------------------------------------------------------------------

  @Test
  void get_absent_completesEmpty() {
    StepVerifier.create(store().get("absent")).as("get of an absent key").verifyComplete();
  }

  @Test
  void set_thenGet_returnsTheBytes() {
    await(store().set("k", bytes("v1"), LONG_TTL));
    assertThat(text(await(store().get("k")))).isEqualTo("v1");

    await(store().set("k", bytes("v2"), LONG_TTL));
    assertThat(text(await(store().get("k")))).as("overwritten").isEqualTo("v2");
  }

  @Test
  void set_emptyAndBinaryValues_roundTrip() {
    byte[] binary = {0, (byte) 0xCA, (byte) 0xFF, '\r', '\n', 0};
    await(store().set("empty", new byte[0], LONG_TTL));
    await(store().set("binary", binary, LONG_TTL));
    assertThat(await(store().get("empty"))).isEmpty();
    assertThat(await(store().get("binary"))).containsExactly(binary);
  }

  @Test
  void set_isLazy_nothingIsWrittenUntilSubscription() {
    Mono<Void> write = store().set("lazy", bytes("v"), LONG_TTL);
    assertThat(await(store().get("lazy"))).as("before subscription").isNull();
    await(write);
    assertThat(await(store().get("lazy"))).as("after subscription").isNotNull();
  }

  @Test
  void set_expiresAfterItsTtl() {
    await(store().set("ttl", bytes("v"), Duration.ofSeconds(90)));
    assertExpiresAfter("ttl", Duration.ofSeconds(90));
  }

  // --- getAll / setAll -------------------------------------------------------------------------

  @Test
  void getAll_returnsPresentKeysOnly() {
    for (int i = 0; i < 10; i += 2) {
      await(store().set("k" + i, bytes("v" + i), LONG_TTL));
    }
    List<String> keys = List.of("k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7", "k8", "k9", "k0");
    Map<String, byte[]> found = await(store().getAll(keys));
    assertThat(found).containsOnlyKeys("k0", "k2", "k4", "k6", "k8");
    found.forEach((key, value) -> assertThat(text(value)).isEqualTo("v" + key.substring(1)));
  }

  @Test
  void getAll_noKeys_isAnEmptyMap() {
    assertThat(await(store().getAll(List.of()))).isEmpty();
  }

  @Test
  void setAll_storesEachEntryWithItsOwnTtl() {
    await(store().setAll(List.of(
        new StoreEntry("a", bytes("A"), Duration.ofSeconds(30)),
        new StoreEntry("b", bytes("B"), Duration.ofSeconds(60)),
        new StoreEntry("c", bytes("C"), Duration.ofSeconds(120)))));
    Map<String, byte[]> found = await(store().getAll(List.of("a", "b", "c")));
    assertThat(found).containsOnlyKeys("a", "b", "c");
    assertThat(text(found.get("b"))).isEqualTo("B");
    assertExpiresAfter("a", Duration.ofSeconds(30));
    assertExpiresAfter("b", Duration.ofSeconds(60));
    assertExpiresAfter("c", Duration.ofSeconds(120));
  }

  @Test
  void setAll_manyEntries_allStored() {
    List<StoreEntry> entries = new java.util.ArrayList<>();
    for (int i = 0; i < 2_000; i++) {
      entries.add(new StoreEntry("bulk:" + i, bytes("v" + i), LONG_TTL));
    }
    await(store().setAll(entries));
    Map<String, byte[]> found =
        await(store().getAll(entries.stream().map(StoreEntry::key).toList()));
    assertThat(found).hasSize(2_000);
    assertThat(text(found.get("bulk:1999"))).isEqualTo("v1999");
  }

  @Test
  void setAll_noEntries_completes() {
    StepVerifier.create(store().setAll(List.of())).verifyComplete();
  }

  // --- delete ----------------------------------------------------------------------------------

  @Test
  void delete_removesTheValueAndTheLease() {
    await(store().set("k", bytes("v"), LONG_TTL));
    assertThat(await(store().tryLease("k", LEASE_TTL))).as("lease on a present value").isNotNull();

    await(store().delete("k"));

    assertThat(await(store().get("k"))).as("value after delete").isNull();
    assertThat(await(store().getOrLease("k", LEASE_TTL)))
        .as("the lease went with the value, so the next caller is granted one")
        .isInstanceOf(StoreLookup.Granted.class);
  }

  @Test
  void delete_many_removesAllAndIgnoresAbsentKeys() {
    await(store().set("a", bytes("A"), LONG_TTL));
    await(store().set("b", bytes("B"), LONG_TTL));
    await(store().set("keep", bytes("K"), LONG_TTL));
    String leased = grantedToken("c");

    await(store().delete(List.of("a", "b", "c", "absent")));

    assertThat(await(store().getAll(List.of("a", "b", "c", "keep")))).containsOnlyKeys("keep");
    assertThat(await(store().setIfLeased("c", leased, bytes("C"), LONG_TTL)))
        .as("the lease of c was deleted too").isFalse();
    StepVerifier.create(store().delete(List.of())).verifyComplete();
  }

  // --- getOrLease ------------------------------------------------------------------------------

  @Test
  void getOrLease_present_isFound() {
    await(store().set("k", bytes("v"), LONG_TTL));
    StoreLookup lookup = await(store().getOrLease("k", LEASE_TTL));
    assertThat(lookup).isInstanceOf(StoreLookup.Found.class);
    assertThat(text(((StoreLookup.Found) lookup).value())).isEqualTo("v");
  }

  @Test
  void getOrLease_absent_isGrantedOnce_thenContended() {
    String token = grantedToken("k");
    assertThat(token).isNotEmpty();
    assertThat(await(store().getOrLease("k", LEASE_TTL))).as("second caller")
        .isInstanceOf(StoreLookup.Contended.class);
    assertThat(await(store().get("k"))).as("a lease is not a value").isNull();
  }

  @Test
  void getOrLease_mintsANewTokenPerSubscription() {
    Mono<StoreLookup> lookup = store().getOrLease("k", LEASE_TTL);
    assertThat(await(lookup)).isInstanceOf(StoreLookup.Granted.class);
    assertThat(await(lookup)).as("the same Mono subscribed again is another caller")
        .isInstanceOf(StoreLookup.Contended.class);
  }

  // --- setIfLeased -----------------------------------------------------------------------------

  @Test
  void setIfLeased_withTheCurrentToken_storesAndClearsTheLease() {
    String token = grantedToken("k");
    assertThat(await(store().setIfLeased("k", token, bytes("v"), LONG_TTL))).isTrue();
    assertThat(text(await(store().get("k")))).isEqualTo("v");
    assertThat(await(store().tryLease("k", LEASE_TTL))).as("the lease was cleared").isNotNull();
    assertThat(await(store().setIfLeased("k", token, bytes("again"), LONG_TTL)))
        .as("a token is good for one store").isFalse();
  }

  @Test
  void setIfLeased_appliesTheTtl() {
    String token = grantedToken("k");
    assertThat(await(store().setIfLeased("k", token, bytes("v"), Duration.ofSeconds(45))))
        .isTrue();
    assertExpiresAfter("k", Duration.ofSeconds(45));
  }

  @Test
  void setIfLeased_afterDelete_storesNothing() {
    String token = grantedToken("k");
    await(store().delete("k"));
    assertThat(await(store().setIfLeased("k", token, bytes("stale"), LONG_TTL)))
        .as("a load that began before the invalidation cannot store after it").isFalse();
    assertThat(await(store().get("k"))).isNull();
  }

  @Test
  void setIfLeased_withAStaleToken_storesNothing() {
    String token = grantedToken("k");
    assertThat(await(store().setIfLeased("k", token + "-not", bytes("x"), LONG_TTL))).isFalse();
    assertThat(await(store().get("k"))).isNull();
    assertThat(await(store().getOrLease("k", LEASE_TTL))).as("the real lease still holds")
        .isInstanceOf(StoreLookup.Contended.class);
    assertThat(await(store().setIfLeased("k", token, bytes("v"), LONG_TTL))).isTrue();
  }

  @Test
  void setIfLeased_withoutAnyLease_storesNothing() {
    await(store().set("k", bytes("old"), LONG_TTL));
    assertThat(await(store().setIfLeased("k", "never-granted", bytes("new"), LONG_TTL)))
        .isFalse();
    assertThat(text(await(store().get("k")))).isEqualTo("old");
  }

  @Test
  void setIfLeased_anotherApplicationsValueWrittenDuringTheLease_isLeftAndTheLeaseCleared() {
    String token = grantedToken("k");
    await(store().set("k", bytes("theirs"), LONG_TTL));
    assertThat(await(store().setIfLeased("k", token, ours("loaded"), LONG_TTL)))
        .as("not stored over a value this library did not write").isFalse();
    assertThat(text(await(store().get("k")))).isEqualTo("theirs");
    assertThat(await(store().tryLease("k", LEASE_TTL))).as("the lease was cleared").isNotNull();
  }

  @Test
  void setIfLeased_refreshOverAnotherApplicationsValue_isLeft() {
    await(store().set("k", bytes("theirs"), LONG_TTL));
    String token = await(store().tryLease("k", LEASE_TTL));
    assertThat(await(store().setIfLeased("k", token, ours("refreshed"), LONG_TTL))).isFalse();
    assertThat(text(await(store().get("k")))).isEqualTo("theirs");
  }

  /**
   * Our mark alone, one byte: no value this library writes is that short (the core reads it as a
   * foreign value, {@code Envelope.classify}, counts it and promises to leave it), so the leased
   * store must leave it too.
   */
  @Test
  void setIfLeased_markAloneWrittenDuringTheLease_isLeft() {
    String token = grantedToken("k");
    await(store().set("k", new byte[] {CacheStore.ENTRY_MARK}, LONG_TTL));
    assertThat(await(store().setIfLeased("k", token, ours("loaded"), LONG_TTL))).isFalse();
    assertThat(await(store().get("k"))).containsExactly(CacheStore.ENTRY_MARK);
  }

  @Test
  void setIfLeased_ourOwnValueWrittenDuringTheLease_isReplaced() {
    String token = grantedToken("k");
    await(store().set("k", ours("written meanwhile"), LONG_TTL));
    assertThat(await(store().setIfLeased("k", token, ours("loaded"), LONG_TTL))).isTrue();
    assertThat(await(store().get("k"))).isEqualTo(ours("loaded"));
  }

  @Test
  void setAllIfLeased_leavesOnlyTheEntriesHoldingAnotherApplicationsValue() {
    String theirs = grantedToken("theirs");
    String absent = grantedToken("absent");
    await(store().set("theirs", bytes("their value"), LONG_TTL));
    List<String> stored = store().setAllIfLeased(List.of(
            new LeasedEntry("theirs", theirs, ours("a"), LONG_TTL),
            new LeasedEntry("absent", absent, ours("b"), LONG_TTL)))
        .collectList().block(TIMEOUT);
    assertThat(stored).containsExactly("absent");
    assertThat(text(await(store().get("theirs")))).isEqualTo("their value");
    assertThat(await(store().get("absent"))).isEqualTo(ours("b"));
  }

  // --- releaseLease / tryLease / expiry --------------------------------------------------------

  @Test
  void releaseLease_letsTheNextCallerBeGranted() {
    String token = grantedToken("k");
    await(store().releaseLease("k", token));
    assertThat(await(store().getOrLease("k", LEASE_TTL))).isInstanceOf(StoreLookup.Granted.class);
    assertThat(await(store().setIfLeased("k", token, bytes("v"), LONG_TTL)))
        .as("the released token").isFalse();
  }

  @Test
  void releaseLease_withAnotherToken_keepsTheLease() {
    String token = grantedToken("k");
    await(store().releaseLease("k", "someone-else"));
    assertThat(await(store().getOrLease("k", LEASE_TTL)))
        .isInstanceOf(StoreLookup.Contended.class);
    assertThat(await(store().setIfLeased("k", token, bytes("v"), LONG_TTL))).isTrue();
  }

  @Test
  void releaseLease_keepsThePresentValue() {
    await(store().set("k", bytes("v"), LONG_TTL));
    String token = await(store().tryLease("k", LEASE_TTL));
    await(store().releaseLease("k", token));
    assertThat(text(await(store().get("k")))).isEqualTo("v");
    assertThat(await(store().tryLease("k", LEASE_TTL))).as("released").isNotNull();
  }

  @Test
  void leaseExpiry_letsASecondCallerTakeOver() {
    Duration shortTtl = shortLeaseTtl();
    StoreLookup first = await(store().getOrLease("k", shortTtl));
    assertThat(first).isInstanceOf(StoreLookup.Granted.class);

    awaitLeaseExpiry("k", shortTtl);

    StoreLookup second = await(store().getOrLease("k", LEASE_TTL));
    assertThat(second).as("after the first holder vanished")
        .isInstanceOf(StoreLookup.Granted.class);
    String firstToken = ((StoreLookup.Granted) first).token();
    String secondToken = ((StoreLookup.Granted) second).token();
    assertThat(secondToken).isNotEqualTo(firstToken);
    assertThat(await(store().setIfLeased("k", firstToken, bytes("late"), LONG_TTL)))
        .as("the vanished holder comes back too late").isFalse();
    assertThat(await(store().setIfLeased("k", secondToken, bytes("v"), LONG_TTL))).isTrue();
    assertThat(text(await(store().get("k")))).isEqualTo("v");
  }

  @Test
  void tryLease_grantsWhetherOrNotAValueIsPresent_once() {
    await(store().set("k", ours("v"), LONG_TTL));
    String token = await(store().tryLease("k", LEASE_TTL));
    assertThat(token).as("lease on a present value").isNotEmpty();
    StepVerifier.create(store().tryLease("k", LEASE_TTL)).as("lease taken")
        .verifyComplete();
    assertThat(await(store().getOrLease("k", LEASE_TTL))).as("the value is still served")
        .isInstanceOf(StoreLookup.Found.class);
    assertThat(await(store().setIfLeased("k", token, ours("refreshed"), LONG_TTL))).isTrue();
    assertThat(await(store().get("k"))).isEqualTo(ours("refreshed"));
  }

  // --- bulk leases -----------------------------------------------------------------------------

  @Test
  void getOrLeaseAll_mixedKeys_foundGrantedContended() {
    await(store().set("found1", bytes("F1"), LONG_TTL));
    await(store().set("found2", bytes("F2"), LONG_TTL));
    grantedToken("held1");
    grantedToken("held2");
    List<String> keys = List.of("found1", "free1", "held1", "found2", "free2", "held2", "free3",
        "free1");

    Map<String, StoreLookup> lookups = lookupsByKey(store().getOrLeaseAll(keys, LEASE_TTL));

    assertThat(lookups).containsOnlyKeys("found1", "found2", "free1", "free2", "free3", "held1",
        "held2");
    assertThat(text(((StoreLookup.Found) lookups.get("found1")).value())).isEqualTo("F1");
    assertThat(text(((StoreLookup.Found) lookups.get("found2")).value())).isEqualTo("F2");
    assertThat(lookups.get("held1")).isInstanceOf(StoreLookup.Contended.class);
    assertThat(lookups.get("held2")).isInstanceOf(StoreLookup.Contended.class);
    for (String free : List.of("free1", "free2", "free3")) {
      assertThat(lookups.get(free)).as(free).isInstanceOf(StoreLookup.Granted.class);
      String token = ((StoreLookup.Granted) lookups.get(free)).token();
      assertThat(await(store().setIfLeased(free, token, bytes(free), LONG_TTL)))
          .as("the token granted for " + free).isTrue();
    }
    assertThat(lookupsByKey(store().getOrLeaseAll(List.of("free2"), LEASE_TTL)).get("free2"))
        .isInstanceOf(StoreLookup.Found.class);
  }

  @Test
  void getOrLeaseAll_grantsDistinctTokens() {
    Map<String, StoreLookup> lookups =
        lookupsByKey(store().getOrLeaseAll(List.of("a", "b", "c"), LEASE_TTL));
    assertThat(lookups.values().stream().map(l -> ((StoreLookup.Granted) l).token()))
        .doesNotHaveDuplicates();
    StepVerifier.create(store().getOrLeaseAll(List.of(), LEASE_TTL)).verifyComplete();
  }

  @Test
  void setAllIfLeased_storesOnlyEntriesWhoseTokenIsCurrent() {
    Map<String, String> tokens = Arrays.stream(new String[] {"ok1", "ok2", "deleted", "stale",
        "released"}).collect(Collectors.toMap(Function.identity(), this::grantedToken));
    await(store().delete("deleted"));
    await(store().releaseLease("released", tokens.get("released")));

    List<LeasedEntry> entries = List.of(
        new LeasedEntry("ok1", tokens.get("ok1"), bytes("1"), Duration.ofSeconds(30)),
        new LeasedEntry("ok2", tokens.get("ok2"), bytes("2"), Duration.ofSeconds(60)),
        new LeasedEntry("deleted", tokens.get("deleted"), bytes("d"), LONG_TTL),
        new LeasedEntry("stale", tokens.get("stale") + "x", bytes("s"), LONG_TTL),
        new LeasedEntry("released", tokens.get("released"), bytes("r"), LONG_TTL),
        new LeasedEntry("never", "no-lease", bytes("n"), LONG_TTL));

    List<String> stored = store().setAllIfLeased(entries).collectList().block(TIMEOUT);

    assertThat(stored).containsExactlyInAnyOrder("ok1", "ok2");
    assertThat(await(store().getAll(List.of("ok1", "ok2", "deleted", "stale", "released",
        "never")))).containsOnlyKeys("ok1", "ok2");
    assertThat(await(store().getOrLease("stale", LEASE_TTL))).as("its lease is still held")
        .isInstanceOf(StoreLookup.Contended.class);
    StepVerifier.create(store().setAllIfLeased(List.of())).verifyComplete();
    assertExpiresAfter("ok1", Duration.ofSeconds(30));
    assertExpiresAfter("ok2", Duration.ofSeconds(60));
  }

  // --- generations -----------------------------------------------------------------------------

  @Test
  void generation_firstReadIsPositive_andStaysUntilBumped() {
    long first = await(store().generation("gen"));
    assertThat(first).isPositive();
    assertThat(await(store().generation("gen"))).isEqualTo(first);
    long bumped = await(store().bumpGeneration("gen"));
    assertThat(bumped).isGreaterThan(first);
    long again = await(store().bumpGeneration("gen"));
    assertThat(again).isGreaterThan(bumped);
    assertThat(await(store().generation("gen"))).isEqualTo(again);
  }

  @Test
  void generation_oneNumberPerNamespace() {
    long gen = await(store().bumpGeneration("gen"));
    assertThat(await(store().generation("gen"))).isEqualTo(gen);
    long other = await(store().generation("other"));
    assertThat(await(store().bumpGeneration("other"))).isGreaterThan(other);
    assertThat(await(store().generation("gen"))).as("untouched by the other's bump")
        .isEqualTo(gen);
  }

  /**
   * A generation the store lost (a flush, a restart without persistence) is never given out
   * again: entries written under it must not become reachable. Stores that cannot lose their
   * generations skip this ({@link #loseGenerations}).
   */
  @Test
  void generation_lostByTheStore_isNeverGivenOutAgain() {
    long before = await(store().bumpGeneration("gen"));
    if (!loseGenerations()) {
      return;
    }
    long after = await(store().generation("gen"));
    assertThat(after).as("a generation after the loss").isGreaterThan(before);
    assertThat(await(store().bumpGeneration("gen"))).isGreaterThan(after);
  }

  @Test
  void generation_isKeptApartFromEntries() {
    await(store().set("gen", bytes("not a number"), LONG_TTL));
    long gen = await(store().bumpGeneration("gen"));
    assertThat(gen).isPositive();
    assertThat(text(await(store().get("gen")))).as("the entry is untouched")
        .isEqualTo("not a number");
  }

  @Test
  void generation_survivesEveryEntryOperationOnTheSameName() {
    await(store().bumpGeneration("ns"));
    long gen = await(store().bumpGeneration("ns"));

    await(store().set("ns", bytes("1"), LONG_TTL));
    await(store().setAll(List.of(new StoreEntry("ns", bytes("2"), LONG_TTL))));
    assertThat(await(store().generation("ns"))).as("after set and setAll of that name")
        .isEqualTo(gen);
    await(store().delete("ns"));
    await(store().delete(List.of("ns", "other")));
    assertThat(await(store().generation("ns"))).as("after deleting that name").isEqualTo(gen);
    assertThat(await(store().get("ns"))).as("the entry is gone, the counter is not").isNull();
    assertThat(await(store().getOrLease("ns", LEASE_TTL))).as("a lease on that name")
        .isInstanceOf(StoreLookup.Granted.class);
    assertThat(await(store().getAll(List.of("ns")))).as("the counter is no entry").isEmpty();
    assertThat(await(store().bumpGeneration("ns"))).isGreaterThan(gen);
  }

  /**
   * Entries whose names look like a counter's (whatever names a store picks for its counters):
   * none is read as the counter, and bumping the counter changes none of them.
   */
  @Test
  protected void generation_isKeptApartFromEntriesOfAnyName() {
    List<String> names = List.of("ns", "generation:ns", "ns:generation", "gen:ns",
        "cache-aside:generation:ns", "{ns}", "{cache-aside:generation:ns}", "ca:g:{ns}",
        "ca:g:ns", "ca:{ns}");
    long gen = await(store().generation("ns"));
    for (String name : names) {
      await(store().set(name, bytes("12"), LONG_TTL));
    }
    assertThat(await(store().generation("ns"))).as("no entry is read as the counter")
        .isEqualTo(gen);
    assertThat(await(store().bumpGeneration("ns"))).isGreaterThan(gen);
    for (String name : names) {
      assertThat(text(await(store().get(name)))).as("entry %s", name).isEqualTo("12");
    }
  }

  /** The store's clock, if it has one, is about now. */
  @Test
  void time_whenTheStoreHasAClock_isItsTime() {
    Long time = await(store().time("ns"));
    if (time != null) {
      assertThat(time).isPositive();
    }
  }

  // --- ping ------------------------------------------------------------------------------------

  @Test
  void ping_onALiveStore_completesEmpty() {
    StepVerifier.create(store().ping()).as("ping").verifyComplete();
  }

  @Test
  void ping_isLazy_andTouchesNoEntry() {
    Mono<Void> ping = store().ping();
    await(store().set("k", bytes("v"), LONG_TTL));
    StepVerifier.create(ping).verifyComplete();
    StepVerifier.create(ping).as("subscribed again").verifyComplete();
    assertThat(text(await(store().get("k")))).isEqualTo("v");
    assertThat(await(store().getAll(List.of("k", "ping", "PING")))).containsOnlyKeys("k");
  }

  // --- arguments -------------------------------------------------------------------------------

  @Test
  @SuppressWarnings("DataFlowIssue")
  void badArguments_throwAtCallTime_namingTheArgument() {
    CacheStore store = store();
    assertThatThrownBy(() -> store.get(null)).isInstanceOf(NullPointerException.class)
        .hasMessage("key must not be null");
    assertThatThrownBy(() -> store.get("")).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("key must not be empty");
    assertThatThrownBy(() -> store.set("k", bytes("v"), Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class).hasMessage("ttl must be positive but was PT0S");
    assertThatThrownBy(() -> store.set("k", bytes("v"), Duration.ofSeconds(-1)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("ttl must be positive but was PT-1S");
    assertThatThrownBy(() -> store.set("k", null, LONG_TTL))
        .isInstanceOf(NullPointerException.class).hasMessage("value must not be null");
    assertThatThrownBy(() -> store.getOrLease("k", Duration.ofNanos(10)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("leaseTtl must be at least 1 ms but was PT0.00000001S");
    assertThatThrownBy(() -> store.tryLease("k", Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("leaseTtl");
    assertThatThrownBy(() -> store.getOrLeaseAll(List.of("a"), Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("leaseTtl");
    assertThatThrownBy(() -> store.getAll(Arrays.asList("a", null)))
        .isInstanceOf(NullPointerException.class);
    assertThatThrownBy(() -> store.delete(List.of("a", ""))).isInstanceOf(
        IllegalArgumentException.class).hasMessage("key must not be empty");
    assertThatThrownBy(() -> store.setIfLeased("k", "", bytes("v"), LONG_TTL))
        .isInstanceOf(IllegalArgumentException.class).hasMessage("lease token must not be empty");
    assertThatThrownBy(() -> store.releaseLease("k", null))
        .isInstanceOf(NullPointerException.class).hasMessage("lease token must not be null");
    assertThatThrownBy(() -> store.bumpGeneration("")).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("namespace must not be empty");
    assertThatThrownBy(() -> store.generation(null)).isInstanceOf(NullPointerException.class)
        .hasMessage("namespace must not be null");
  }
}
