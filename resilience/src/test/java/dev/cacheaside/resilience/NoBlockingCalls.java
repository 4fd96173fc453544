package dev.cacheaside.resilience;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import reactor.blockhound.BlockingOperationError;
import reactor.core.publisher.Hooks;

/**
 * Fails a test if BlockHound caught a blocking call inside any Reactor operator during it. The
 * core turns store errors into misses and the replay retries its failures, so a blocking call on
 * those paths would otherwise be swallowed; every operator error passes this hook first.
 */
final class NoBlockingCalls implements BeforeEachCallback, AfterEachCallback {
  private static final String KEY = NoBlockingCalls.class.getName();
  private final List<Throwable> blocking = new CopyOnWriteArrayList<>();

  @Override
  public void beforeEach(ExtensionContext context) {
    blocking.clear();
    Hooks.onOperatorError(KEY, (e, data) -> {
      if (e instanceof BlockingOperationError || e.getCause() instanceof BlockingOperationError) {
        blocking.add(e);
      }
      return e;
    });
  }

  @Override
  public void afterEach(ExtensionContext context) {
    Hooks.resetOnOperatorError(KEY);
    assertThat(blocking).as("blocking calls on non-blocking threads").isEmpty();
  }
}
