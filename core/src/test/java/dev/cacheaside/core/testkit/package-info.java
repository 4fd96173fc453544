/**
 * Core's test kit, shipped to the other modules' tests as core's {@code test-jar}: the suites
 * every store and every deployment must pass ({@link dev.cacheaside.core.testkit.CacheStoreContract},
 * {@link dev.cacheaside.core.testkit.CacheAsideScenarios}) and the fakes of our own SPI and
 * loaders that several modules' tests use, so each exists once. Fakes of our SPI only: Redis and
 * PostgreSQL are never faked (the {@code testing} module gives tests the real ones).
 */
@NullMarked
package dev.cacheaside.core.testkit;

import org.jspecify.annotations.NullMarked;
