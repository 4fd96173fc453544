package dev.cacheaside.testing;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Inherited;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A real Redis and a real PostgreSQL for the annotated test class or method: both
 * {@link RedisExtension} and {@link PostgresExtension}.
 *
 * <pre>{@code
 * @RealServers
 * class CatalogIT {
 *   @Test
 *   void readThrough(RedisClient redis, ConnectionFactory db) { ... }
 * }
 * }</pre>
 */
@Target({ElementType.TYPE, ElementType.METHOD, ElementType.ANNOTATION_TYPE})
@Retention(RetentionPolicy.RUNTIME)
@Documented
@Inherited
@ExtendWith(RedisExtension.class)
@ExtendWith(PostgresExtension.class)
public @interface RealServers {}
