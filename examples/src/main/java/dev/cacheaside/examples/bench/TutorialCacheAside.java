package dev.cacheaside.examples.bench;

import dev.cacheaside.examples.Product;
import io.lettuce.core.RedisClient;
import io.lettuce.core.SetArgs;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.reactive.RedisReactiveCommands;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.codec.RedisCodec;
import io.lettuce.core.codec.StringCodec;
import java.util.function.Function;
import reactor.core.publisher.Mono;

/**
 * Cache-aside as tutorials write it, on Lettuce's reactive API: {@code GET}; on a miss query the
 * database and {@code SET key value EX ttl}; after a write {@code DEL}. Deliberately nothing more
 * (no single flight, no lease, no envelope), so the comparison shows what that costs and what it
 * leaves open. Same codec and TTL as the other approaches.
 */
final class TutorialCacheAside implements Contender {
  private final StatefulRedisConnection<String, byte[]> connection;
  private final RedisReactiveCommands<String, byte[]> redis;
  private final String prefix;

  TutorialCacheAside(RedisClient client, String namespace) {
    connection = client.connect(RedisCodec.of(StringCodec.UTF8, ByteArrayCodec.INSTANCE));
    redis = connection.reactive();
    prefix = namespace + ":";
  }

  @Override
  public Mono<Product> read(long id, Function<Long, Mono<Product>> loader) {
    String key = prefix + id;
    return redis.get(key)
        .map(CODEC::decode)
        .switchIfEmpty(Mono.defer(() -> loader.apply(id).flatMap(product ->
            redis.set(key, CODEC.encode(product), SetArgs.Builder.ex(TTL)).thenReturn(product))));
  }

  @Override
  public Mono<Void> writeThenInvalidate(long id, Mono<?> write) {
    return write.then(redis.del(prefix + id)).then();
  }

  @Override
  public void close() {
    connection.close();
  }
}
