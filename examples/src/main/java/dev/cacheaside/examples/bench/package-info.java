/**
 * Benchmarks: harnesses that print tables of figures measured side by side in one JVM against the
 * same servers. Run with {@code mvn -B -q -Pbench -Dbench=<class> -DskipTests package}.
 */
@NullMarked
package dev.cacheaside.examples.bench;

import org.jspecify.annotations.NullMarked;
