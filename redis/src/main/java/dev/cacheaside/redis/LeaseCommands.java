package dev.cacheaside.redis;

import dev.cacheaside.core.spi.CacheStore;
import dev.cacheaside.core.spi.CacheStore.KeyedLookup;
import dev.cacheaside.core.spi.CacheStore.LeasedEntry;
import dev.cacheaside.core.spi.StoreLookup;
import io.lettuce.core.SetArgs;
import io.lettuce.core.cluster.api.reactive.RedisClusterReactiveCommands;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.util.Logger;
import reactor.util.Loggers;

/**
 * The lease operations of a {@link RedisCacheStore} on the wire: how the {@link LeaseScripts} are
 * called (keys in value/lease pairs, arguments in the order each script documents), what their
 * replies mean, and the release of a lease that a cancelled subscriber was granted but never
 * received. The store checks the arguments and splits many keys by hash slot before they get
 * here, so every call here is about keys of one slot; the store's methods document the
 * contract.
 */
final class LeaseCommands {
  private static final Logger LOG = Loggers.getLogger(LeaseCommands.class);

  private final RedisClusterReactiveCommands<String, byte[]> redis;
  /** Says, at each call, whether the {@code getOrLease} script marks contended leases. */
  private final LeaseEnds leaseEnds;

  LeaseCommands(RedisClusterReactiveCommands<String, byte[]> redis, LeaseEnds leaseEnds) {
    this.redis = redis;
    this.leaseEnds = leaseEnds;
  }

  /**
   * One {@code getOrLease} script call for one entry, with a token minted for this subscription.
   * A cancel before the lookup is emitted releases the lease the script may have granted (the
   * release runs after the script on the same connection, so it cannot overtake it).
   */
  Mono<StoreLookup> getOrLease(String valueKey, long leaseTtlMillis) {
    byte[] ttl = millisArg(leaseTtlMillis);
    String[] keys = {valueKey, RedisKeyLayout.leaseKeyOf(valueKey)};
    return Mono.defer(() -> {
      String token = CacheStore.newLeaseToken();
      AtomicBoolean delivered = new AtomicBoolean();
      return LeaseScripts.GET_OR_LEASE.<List<Object>>run(redis, keys, ttl, leaseEnds.markFlag(),
              ascii(token))
          .single()
          .map(reply -> {
            StoreLookup lookup = lookup(reply.get(0), token);
            delivered.set(true);
            return lookup;
          })
          .doOnCancel(() -> {
            if (!delivered.get()) {
              releaseAfterCancel(valueKey, token);
            }
          });
    });
  }

  /**
   * One {@code getOrLease} script call for distinct store keys of one hash slot. A cancel
   * releases the leases of the lookups not emitted yet.
   */
  Flux<KeyedLookup> getOrLeaseAll(List<String> group, long leaseTtlMillis) {
    byte[] ttl = millisArg(leaseTtlMillis);
    return Flux.defer(() -> {
      int n = group.size();
      String[] keys = new String[2 * n];
      byte[][] args = new byte[n + 2][];
      String[] tokens = new String[n];
      args[0] = ttl;
      args[1] = leaseEnds.markFlag();
      for (int i = 0; i < n; i++) {
        String valueKey = RedisKeyLayout.valueKey(group.get(i));
        keys[2 * i] = valueKey;
        keys[2 * i + 1] = RedisKeyLayout.leaseKeyOf(valueKey);
        tokens[i] = CacheStore.newLeaseToken();
        args[i + 2] = ascii(tokens[i]);
      }
      // The reply is one array with an element per pair of keys, in order; emitted counts the
      // lookups passed on, so that a cancel knows which leases nobody received.
      AtomicInteger emitted = new AtomicInteger();
      return LeaseScripts.GET_OR_LEASE.<List<Object>>run(redis, keys, args)
          .flatMapIterable(reply -> reply)
          .map(reply -> {
            int i = emitted.get();
            KeyedLookup lookup = new KeyedLookup(group.get(i), lookup(reply, tokens[i]));
            emitted.set(i + 1);
            return lookup;
          })
          .doOnCancel(() -> {
            for (int i = emitted.get(); i < n; i++) {
              releaseAfterCancel(keys[2 * i], tokens[i]);
            }
          });
    });
  }

  private static StoreLookup lookup(Object reply, String token) {
    if (reply instanceof byte[] value) {
      return new StoreLookup.Found(value);
    }
    if (reply instanceof Long code) {
      if (code == LeaseScripts.GRANTED) {
        return new StoreLookup.Granted(token);
      }
      if (code == LeaseScripts.CONTENDED) {
        return StoreLookup.contended();
      }
    }
    throw new IllegalStateException("unexpected reply from the getOrLease script: " + reply);
  }

  /**
   * {@code SET lease token NX PX leaseTtl} with a token minted for this subscription; empty when
   * the lease is taken. A cancel before the token is emitted releases it.
   */
  Mono<String> tryLease(String valueKey, long leaseTtlMillis) {
    String leaseKey = RedisKeyLayout.leaseKeyOf(valueKey);
    return Mono.defer(() -> {
      String token = CacheStore.newLeaseToken();
      AtomicBoolean delivered = new AtomicBoolean();
      return redis.set(leaseKey, ascii(token), SetArgs.Builder.nx().px(leaseTtlMillis))
          .map(ok -> {
            delivered.set(true);
            return token;
          })
          .doOnCancel(() -> {
            if (!delivered.get()) {
              releaseAfterCancel(valueKey, token);
            }
          });
    });
  }

  /** One {@code setIfLeased} script call for one entry: whether it was stored. */
  Mono<Boolean> setIfLeased(String valueKey, String token, byte[] value, long ttlMillis) {
    String[] keys = {valueKey, RedisKeyLayout.leaseKeyOf(valueKey)};
    return LeaseScripts.SET_IF_LEASED.<List<Long>>run(redis, keys, utf8(token), value,
            millisArg(ttlMillis))
        .single()
        .map(reply -> reply.get(0) == 1L);
  }

  /** One {@code setIfLeased} script call for entries of one hash slot: the keys stored. */
  Flux<String> setAllIfLeased(List<LeasedEntry> group) {
    int n = group.size();
    String[] keys = new String[2 * n];
    byte[][] args = new byte[3 * n][];
    for (int i = 0; i < n; i++) {
      LeasedEntry entry = group.get(i);
      String valueKey = RedisKeyLayout.valueKey(entry.key());
      keys[2 * i] = valueKey;
      keys[2 * i + 1] = RedisKeyLayout.leaseKeyOf(valueKey);
      args[3 * i] = utf8(entry.token());
      args[3 * i + 1] = entry.value();
      args[3 * i + 2] = millisArg(entry.ttl().toMillis());
    }
    // The reply is one array with an element per entry, in order.
    return LeaseScripts.SET_IF_LEASED.<List<Long>>run(redis, keys, args)
        .flatMapIterable(reply -> {
          List<String> stored = new ArrayList<>(reply.size());
          for (int i = 0; i < reply.size(); i++) {
            if (reply.get(i) == 1L) {
              stored.add(group.get(i).key());
            }
          }
          return stored;
        });
  }

  /** One {@code releaseLease} script call: deletes the lease only while it holds the token. */
  Mono<Void> releaseLease(String valueKey, String token) {
    return releaseScript(valueKey, token).then();
  }

  private Flux<Long> releaseScript(String valueKey, String token) {
    return LeaseScripts.RELEASE_LEASE.run(redis,
        new String[] {RedisKeyLayout.leaseKeyOf(valueKey), valueKey}, utf8(token));
  }

  /**
   * Releases a lease that a cancelled subscriber may have been granted. Nobody waits for this:
   * it is best effort, and a failure only means others wait for the lease TTL.
   */
  private void releaseAfterCancel(String valueKey, String token) {
    releaseScript(valueKey, token).subscribe(null, e -> LOG.debug(
        "release of the lease on {} after a cancel failed: {}", valueKey, e.toString()));
  }

  private static byte[] millisArg(long millis) {
    return ascii(Long.toString(millis));
  }

  private static byte[] ascii(String text) {
    return text.getBytes(StandardCharsets.US_ASCII);
  }

  private static byte[] utf8(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }
}
