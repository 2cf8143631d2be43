@file:JvmName("AndalFutures")

package id.andal

import java.util.concurrent.CompletableFuture
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.future.future

/*
 * The async API for Java back ends: `CompletableFuture`s on the same async engine as
 * Kotlin's `suspend` functions, so no thread waits for a check. Cancelling a future
 * (`cancel(true)`) cancels its check. Dependent stages run on Kotlin's default dispatcher
 * (a pool of one thread per core), never on the Rust runtime's threads.
 *
 * ```java
 * CompletableFuture<Decision> d = AndalFutures.verifyFuture(client, query);
 * d.thenAccept(decision -> ...);
 * ```
 */

private val scope = CoroutineScope(SupervisorJob() + Dispatchers.Default)

/** [AndalClient.verifyAsync] as a `CompletableFuture`. */
@JvmOverloads
fun AndalClient.verifyFuture(query: CheckQuery, options: CheckOptions? = null): CompletableFuture<Decision> =
    scope.future { verifyAsync(query, options) }

/** [AndalClient.reconcileAsync] as a `CompletableFuture`. */
fun AndalClient.reconcileFuture(): CompletableFuture<ReconcileReport> = scope.future { reconcileAsync() }

/** [AndalClient.refreshTrustAsync] as a `CompletableFuture`. */
fun AndalClient.refreshTrustFuture(): CompletableFuture<TrustStatus> = scope.future { refreshTrustAsync() }
