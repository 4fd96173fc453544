package dev.cacheaside.examples.bench;

import dev.cacheaside.core.spi.InvalidationListener;
import java.util.function.Consumer;

/** An invalidation listener that only hears changed store keys: what the benchmarks count. */
final class KeysHeard implements InvalidationListener {
  private final Consumer<String> onKey;

  KeysHeard(Consumer<String> onKey) {
    this.onKey = onKey;
  }

  @Override
  public void invalidated(String storeKey) {
    onKey.accept(storeKey);
  }

  @Override
  public void namespaceInvalidated(String namespace) {}

  @Override
  public void lost() {}

  @Override
  public void restored() {}
}
