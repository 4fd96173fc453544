/**
 * Core's test kit, shipped to the other modules' tests as core's {@code test-jar}: the suite
 * every store must pass ({@link dev.cacheaside.core.testkit.CacheStoreContract}). Fakes of our own
 * SPI only: Redis and PostgreSQL are never faked (the {@code testing} module gives tests the real
 * ones).
 */
@NullMarked
package dev.cacheaside.core.testkit;

import org.jspecify.annotations.NullMarked;
