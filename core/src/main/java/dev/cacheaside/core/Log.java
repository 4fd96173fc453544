package dev.cacheaside.core;

import reactor.util.Logger;
import reactor.util.Loggers;

/**
 * The engine's logger. Named after the API interface, as it always was, so that an application's
 * logging configuration for {@code dev.cacheaside.core.CacheAside} keeps working; by name, so that
 * no engine class refers up to the API type.
 */
final class Log {
  static final Logger CACHE = Loggers.getLogger("dev.cacheaside.core.CacheAside");

  private Log() {}
}
