package dev.cacheaside.spring.boot;

import java.lang.reflect.Method;
import java.lang.reflect.Type;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import org.reactivestreams.Publisher;
import org.springframework.core.ResolvableType;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * What a cached method's values look like in the store: the type to write and read (from the
 * method's generic return type, never from the bytes), and whether the method returns a stream,
 * whose elements are cached as one list.
 *
 * @param type {@code T} of {@code Mono<T>}, {@code CompletableFuture<T>}, {@code Optional<T>} or
 *     a plain {@code T}; {@code List<T>} of {@code Flux<T>}; {@code Object} when not resolvable
 *     (then values are read as JSON's own types: maps, lists, strings, numbers)
 * @param multi whether the method returns a {@code Flux} (an empty list is "not found")
 */
record ValueShape(Type type, boolean multi) {
  static final ValueShape UNTYPED = new ValueShape(Object.class, false);

  static ValueShape of(Method method, Class<?> targetClass) {
    ResolvableType returned = ResolvableType.forMethodReturnType(method, targetClass);
    Class<?> raw = returned.resolve(Object.class);
    if (Flux.class.isAssignableFrom(raw)) {
      return new ValueShape(ResolvableType.forClassWithGenerics(List.class,
          concrete(returned.as(Publisher.class).getGeneric(0))).getType(), true);
    }
    if (Mono.class.isAssignableFrom(raw)) {
      return new ValueShape(type(returned.as(Publisher.class).getGeneric(0)), false);
    }
    if (CompletableFuture.class.isAssignableFrom(raw)) {
      return new ValueShape(type(returned.as(CompletableFuture.class).getGeneric(0)), false);
    }
    if (raw == Optional.class) {
      return new ValueShape(type(returned.getGeneric(0)), false);
    }
    if (raw == void.class || raw == Void.class) {
      return UNTYPED;
    }
    return new ValueShape(type(returned), false);
  }

  private static Type type(ResolvableType type) {
    return concrete(type).getType();
  }

  /**
   * {@code type} with its type variables replaced by what the method's class binds them to, so
   * that Jackson is given {@code Product}, not {@code T}; what stays unknown becomes
   * {@code Object}.
   */
  private static ResolvableType concrete(ResolvableType type) {
    Class<?> raw = type.resolve();
    if (raw == null) {
      return ResolvableType.forClass(Object.class);
    }
    if (!type.hasGenerics()) {
      return ResolvableType.forClass(raw);
    }
    ResolvableType[] generics = type.getGenerics();
    ResolvableType[] resolved = new ResolvableType[generics.length];
    for (int i = 0; i < generics.length; i++) {
      resolved[i] = concrete(generics[i]);
    }
    return ResolvableType.forClassWithGenerics(raw, resolved);
  }
}
