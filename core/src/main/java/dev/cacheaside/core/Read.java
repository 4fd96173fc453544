package dev.cacheaside.core;

import java.util.function.Function;
import reactor.core.publisher.Mono;

/**
 * One caller's single-key read: the cache key, its store key (the entry key under the generation
 * the read began with, see {@link Namespace}) and the loader that answers a miss.
 */
record Read<K, V>(K key, String storeKey, Function<? super K, ? extends Mono<V>> loader) {}
