package id.andal

import java.io.IOException
import java.net.ConnectException
import java.net.URI
import java.net.UnknownHostException
import java.net.http.HttpClient
import java.net.http.HttpConnectTimeoutException
import java.net.http.HttpResponse.BodySubscriber
import java.net.http.HttpTimeoutException
import java.nio.ByteBuffer
import java.nio.channels.UnresolvedAddressException
import java.time.Duration
import java.util.concurrent.CompletableFuture
import java.util.concurrent.CompletionException
import java.util.concurrent.CompletionStage
import java.util.concurrent.ExecutionException
import java.util.concurrent.Executors
import java.util.concurrent.Flow
import java.util.concurrent.atomic.AtomicInteger
import java.util.concurrent.atomic.AtomicLong
import javax.net.ssl.SSLException
import kotlinx.coroutines.TimeoutCancellationException
import kotlinx.coroutines.future.await
import kotlinx.coroutines.withTimeout

/**
 * An [AsyncHttpTransport] on the JDK's `java.net.http.HttpClient` (`sendAsync`): the
 * platform HTTP stack (system proxies, the JVM trust store, your own `SSLContext` for
 * pinning) instead of the built-in rustls transport, and no thread waits while a request
 * is in flight.
 *
 * Contract kept: one attempt, no retry, no redirect, the whole exchange (connect, send,
 * body) bounded by `timeoutMs`, at most `maxBody` bytes of body (the body is refused as it
 * streams in, never buffered whole), any HTTP status returned as a response, failures
 * classified into [FailureKind]. Cancelling the call (the check was cancelled) cancels
 * the exchange.
 *
 * ```kotlin
 * val client = AndalClient(config, apiKey, asyncTransport = JavaHttpTransport())
 * ```
 *
 * The default `HttpClient` runs its callbacks on two daemon threads (`andal-http-N`), so a
 * thousand requests in flight do not grow the JDK's default cached pool to a thousand
 * threads.
 */
class JavaHttpTransport @JvmOverloads constructor(
    private val http: HttpClient = defaultClient(),
) : AsyncHttpTransport {

    private val sent = AtomicLong()

    /** Requests this transport has sent (for metrics and tests). */
    val requestsSent: Long get() = sent.get()

    override suspend fun send(request: HttpRequest, timeoutMs: ULong, maxBody: ULong): HttpResponse {
        val timeout = Duration.ofMillis(timeoutMs.toLong().coerceAtLeast(1))
        val builder = java.net.http.HttpRequest.newBuilder(URI.create(request.url)).timeout(timeout)
        for (h in request.headers) {
            if (h.name.lowercase() !in RESTRICTED) builder.header(h.name, h.value)
        }
        when (request.method) {
            HttpMethod.GET -> builder.GET()
            HttpMethod.POST -> builder.POST(java.net.http.HttpRequest.BodyPublishers.ofByteArray(request.body))
        }
        sent.incrementAndGet()
        val limit = if (maxBody > Int.MAX_VALUE.toULong()) Int.MAX_VALUE.toLong() else maxBody.toLong()
        val exchange = http.sendAsync(builder.build()) { LimitedBody(limit) }
        val resp = try {
            // `timeout` above bounds the wait for the headers; this bounds the whole
            // exchange. Either way, cancelling `await` cancels the exchange.
            withTimeout(timeout.toMillis()) { exchange.await() }
        } catch (e: TimeoutCancellationException) {
            exchange.cancel(true)
            throw TransportException.Failed(FailureKind.ReadTimeout, "no complete response within ${timeout.toMillis()} ms")
        } catch (e: TransportException) {
            throw e
        } catch (e: kotlinx.coroutines.CancellationException) {
            throw e
        } catch (e: Exception) {
            throw classify(e)
        }
        return HttpResponse(
            status = resp.statusCode().toUShort(),
            headers = resp.headers().map().flatMap { (name, values) -> values.map { HttpHeader(name, it) } },
            body = resp.body(),
        )
    }

    private class BodyTooLarge(limit: Long) : IOException("body exceeds $limit bytes")

    /** Collects the body up to `limit` bytes; one byte more cancels the stream. */
    private class LimitedBody(private val limit: Long) : BodySubscriber<ByteArray> {
        private val result = CompletableFuture<ByteArray>()
        private val parts = ArrayList<ByteBuffer>()
        private var size = 0L
        private lateinit var subscription: Flow.Subscription

        override fun getBody(): CompletionStage<ByteArray> = result

        override fun onSubscribe(s: Flow.Subscription) {
            subscription = s
            s.request(Long.MAX_VALUE)
        }

        override fun onNext(item: List<ByteBuffer>) {
            if (result.isDone) return
            for (b in item) {
                size += b.remaining()
                parts += b
            }
            if (size > limit) {
                subscription.cancel()
                parts.clear()
                result.completeExceptionally(BodyTooLarge(limit))
            }
        }

        override fun onError(t: Throwable) {
            result.completeExceptionally(t)
        }

        override fun onComplete() {
            if (result.isDone) return
            val out = ByteArray(size.toInt())
            var at = 0
            for (b in parts) {
                val n = b.remaining()
                b.get(out, at, n)
                at += n
            }
            result.complete(out)
        }
    }

    private fun classify(t: Throwable): TransportException {
        var e = t
        while ((e is CompletionException || e is ExecutionException) && e.cause != null) e = e.cause!!
        val kind: FailureKind = when (e) {
            is BodyTooLarge -> FailureKind.TooLarge
            is HttpConnectTimeoutException -> FailureKind.ConnectTimeout
            is HttpTimeoutException -> FailureKind.ReadTimeout
            is ConnectException -> if (e.cause is UnresolvedAddressException) FailureKind.Dns else FailureKind.Refused
            is UnknownHostException, is UnresolvedAddressException -> FailureKind.Dns
            is SSLException -> FailureKind.Tls
            is IOException -> {
                val m = (e.message ?: "").lowercase()
                if ("reset" in m || "closed" in m || "eof" in m || "header parser" in m) FailureKind.Reset else FailureKind.Protocol
            }
            else -> FailureKind.Protocol
        }
        // The detail names the exception class and message: sockets and TLS, never bodies.
        return TransportException.Failed(kind, "${e.javaClass.simpleName}: ${e.message ?: ""}".take(300))
    }

    private companion object {
        /** Headers java.net.http sets itself and refuses from callers. */
        val RESTRICTED = setOf("connection", "content-length", "expect", "host", "upgrade")

        private val threads = AtomicInteger()

        fun defaultClient(): HttpClient = HttpClient.newBuilder()
            .followRedirects(HttpClient.Redirect.NEVER)
            .connectTimeout(Duration.ofSeconds(2))
            .executor(Executors.newFixedThreadPool(2) { r ->
                Thread(r, "andal-http-${threads.incrementAndGet()}").apply { isDaemon = true }
            })
            .build()
    }
}
