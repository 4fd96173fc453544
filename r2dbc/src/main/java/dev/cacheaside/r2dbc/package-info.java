/**
 * PostgreSQL through R2DBC for cache-aside: loaders, invalidation after commit, and invalidation
 * driven by the database itself.
 *
 * <ul>
 *   <li>{@link dev.cacheaside.r2dbc.R2dbcLoaders}: the loaders {@code cacheAside} and
 *       {@code cacheAsideAll} take, from a SQL text and a row mapper ({@code WHERE id = $1},
 *       {@code WHERE id = ANY($1)}).</li>
 *   <li>{@link dev.cacheaside.r2dbc.TransactionalWrites}: runs a write in a transaction and
 *       invalidates the keys it touched once the commit succeeded.</li>
 *   <li>{@link dev.cacheaside.r2dbc.PgNotifyTrigger} and
 *       {@link dev.cacheaside.r2dbc.PgInvalidationListener}: a trigger that {@code pg_notify}s the
 *       changed rows' keys, and a listener that invalidates them, for writes that bypass the
 *       application.</li>
 * </ul>
 *
 * Types that are not public are implementation and may change in any release.
 */
@NullMarked
package dev.cacheaside.r2dbc;

import org.jspecify.annotations.NullMarked;
