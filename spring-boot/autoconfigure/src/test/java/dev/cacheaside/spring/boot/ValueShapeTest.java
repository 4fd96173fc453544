package dev.cacheaside.spring.boot;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cacheaside.spring.boot.CatalogTestApp.Product;
import java.lang.reflect.ParameterizedType;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

class ValueShapeTest {
  interface Methods {
    Mono<Product> mono();

    Flux<Product> flux();

    Mono<List<Product>> monoOfList();

    Product plain();

    Optional<Product> optional();

    Mono<?> wildcard();
  }

  static abstract class Repository<T> {
    abstract Mono<T> find();
  }

  static final class Products extends Repository<Product> {
    @Override
    Mono<Product> find() {
      return Mono.empty();
    }
  }

  private static ValueShape shape(String name) throws NoSuchMethodException {
    return ValueShape.of(Methods.class.getMethod(name), Methods.class);
  }

  @Test
  void monoOfT_isT_fluxOfT_isAListOfT() throws Exception {
    assertThat(shape("mono")).isEqualTo(new ValueShape(Product.class, false));
    ValueShape flux = shape("flux");
    assertThat(flux.multi()).isTrue();
    assertThat(((ParameterizedType) flux.type()).getRawType()).isEqualTo(List.class);
    assertThat(((ParameterizedType) flux.type()).getActualTypeArguments()).containsExactly(Product.class);
  }

  @Test
  void monoOfList_plain_optional_wildcard() throws Exception {
    assertThat(shape("monoOfList").multi()).isFalse();
    assertThat(((ParameterizedType) shape("monoOfList").type()).getRawType()).isEqualTo(List.class);
    assertThat(shape("plain")).isEqualTo(new ValueShape(Product.class, false));
    assertThat(shape("optional")).isEqualTo(new ValueShape(Product.class, false));
    assertThat(shape("wildcard").type()).isEqualTo(Object.class);
  }

  @Test
  void typeVariables_resolvedAgainstTheTargetClass() throws Exception {
    assertThat(ValueShape.of(Repository.class.getDeclaredMethod("find"), Products.class))
        .isEqualTo(new ValueShape(Product.class, false));
  }
}
