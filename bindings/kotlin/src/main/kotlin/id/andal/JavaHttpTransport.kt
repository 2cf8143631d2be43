package id.andal

import java.io.IOException
import java.io.InputStream
import java.net.ConnectException
import java.net.URI
import java.net.UnknownHostException
import java.net.http.HttpClient
import java.net.http.HttpConnectTimeoutException
import java.net.http.HttpTimeoutException
import java.nio.channels.UnresolvedAddressException
import java.time.Duration
import java.util.concurrent.CompletionException
import java.util.concurrent.ExecutionException
import java.util.concurrent.TimeUnit
import java.util.concurrent.TimeoutException
import java.util.concurrent.atomic.AtomicLong
import javax.net.ssl.SSLException

/**
 * An [HttpTransport] on the JDK's `java.net.http.HttpClient`: the platform HTTP stack
 * (system proxies, the JVM trust store, your own `SSLContext` for pinning) instead of
 * the built-in rustls transport.
 *
 * Contract kept: one attempt, no retry, no redirect, the whole exchange (connect, send,
 * body) bounded by `timeoutMs`, at most `maxBody` bytes of body, any HTTP status returned as
 * a response, failures classified into [FailureKind].
 *
 * ```kotlin
 * val client = AndalClient(config, apiKey, transport = JavaHttpTransport())
 * ```
 */
class JavaHttpTransport @JvmOverloads constructor(
    private val http: HttpClient = HttpClient.newBuilder()
        .followRedirects(HttpClient.Redirect.NEVER)
        .connectTimeout(Duration.ofSeconds(2))
        .build(),
) : HttpTransport {

    private val sent = AtomicLong()

    /** Requests this transport has sent (for metrics and tests). */
    val requestsSent: Long get() = sent.get()

    override fun send(request: HttpRequest, timeoutMs: ULong, maxBody: ULong): HttpResponse {
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
        val future = http.sendAsync(builder.build(), java.net.http.HttpResponse.BodyHandlers.ofInputStream())
            .thenApply { resp ->
                val body = resp.body().use { readLimited(it, limit) }
                HttpResponse(
                    status = resp.statusCode().toUShort(),
                    headers = resp.headers().map().flatMap { (name, values) ->
                        values.map { HttpHeader(name, it) }
                    },
                    body = body,
                )
            }
        try {
            return future.get(timeout.toMillis(), TimeUnit.MILLISECONDS)
        } catch (e: TimeoutException) {
            future.cancel(true)
            throw TransportException.Failed(FailureKind.ReadTimeout, "no complete response within ${timeout.toMillis()} ms")
        } catch (e: InterruptedException) {
            future.cancel(true)
            Thread.currentThread().interrupt()
            throw TransportException.Failed(FailureKind.ReadTimeout, "interrupted")
        } catch (e: ExecutionException) {
            throw classify(e.cause ?: e)
        } catch (e: CompletionException) {
            throw classify(e.cause ?: e)
        }
    }

    private class BodyTooLarge(limit: Long) : IOException("body exceeds $limit bytes")

    private fun readLimited(input: InputStream, limit: Long): ByteArray {
        val bytes = input.readNBytes((limit + 1).coerceAtMost(Int.MAX_VALUE.toLong()).toInt())
        if (bytes.size > limit) throw BodyTooLarge(limit)
        return bytes
    }

    private fun classify(t: Throwable): TransportException {
        val e = if ((t is CompletionException || t is ExecutionException) && t.cause != null) t.cause!! else t
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
    }
}
