package id.andal

import okhttp3.Headers
import okhttp3.OkHttpClient
import okhttp3.Request
import okhttp3.RequestBody.Companion.toRequestBody
import java.io.IOException
import java.io.InterruptedIOException
import java.net.ConnectException
import java.net.SocketTimeoutException
import java.net.UnknownHostException
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicLong
import javax.net.ssl.SSLException

/**
 * An [HttpTransport] on OkHttp: the usual HTTP stack of Android apps (and many JVM
 * services), with whatever the app configured on its [OkHttpClient]: certificate pinning,
 * proxies, interceptors, its connection pool. Needs `com.squareup.okhttp3:okhttp` 5 on the
 * class path (an optional dependency of this library).
 *
 * Contract kept whatever the given client says: one attempt (`retryOnConnectionFailure`
 * off), no redirect followed (a 3xx is returned as a response), the whole exchange bounded
 * by `timeoutMs` (OkHttp's call timeout), at most `maxBody` bytes of body, failures
 * classified into [FailureKind].
 *
 * ```kotlin
 * val client = AndalClient(config, apiKey, transport = OkHttpTransport(appOkHttpClient))
 * ```
 */
class OkHttpTransport @JvmOverloads constructor(
    client: OkHttpClient = OkHttpClient(),
) : HttpTransport {

    // newBuilder() shares the caller's pool and dispatcher; only these settings change.
    private val http: OkHttpClient = client.newBuilder()
        .followRedirects(false)
        .followSslRedirects(false)
        .retryOnConnectionFailure(false)
        .build()

    private val sent = AtomicLong()

    /** Requests this transport has sent (for metrics and tests). */
    val requestsSent: Long get() = sent.get()

    override fun send(request: HttpRequest, timeoutMs: ULong, maxBody: ULong): HttpResponse {
        val timeout = timeoutMs.toLong().coerceAtLeast(1)
        val headers = Headers.Builder()
        for (h in request.headers) {
            if (h.name.lowercase() !in MANAGED) headers.add(h.name, h.value)
        }
        val body = when (request.method) {
            HttpMethod.GET -> null
            HttpMethod.POST -> request.body.toRequestBody(null) // Content-Type comes from the headers
        }
        val okRequest = Request.Builder().url(request.url).headers(headers.build())
            .method(request.method.name, body).build()
        val call = http.newCall(okRequest)
        call.timeout().timeout(timeout, TimeUnit.MILLISECONDS)
        sent.incrementAndGet()
        val limit = if (maxBody > Long.MAX_VALUE.toULong() - 1u) Long.MAX_VALUE - 1 else maxBody.toLong()
        try {
            call.execute().use { resp ->
                val source = resp.body.source()
                if (source.request(limit + 1)) {
                    throw TransportException.Failed(FailureKind.TooLarge, "body exceeds $limit bytes")
                }
                return HttpResponse(
                    status = resp.code.toUShort(),
                    headers = resp.headers.map { (name, value) -> HttpHeader(name, value) },
                    body = source.buffer.readByteArray(),
                )
            }
        } catch (e: TransportException) {
            throw e
        } catch (e: IOException) {
            throw classify(e, call.isCanceled())
        }
    }

    private fun classify(e: IOException, canceled: Boolean): TransportException {
        val m = (e.message ?: "").lowercase()
        val kind: FailureKind = when {
            e is UnknownHostException -> FailureKind.Dns
            e is ConnectException -> FailureKind.Refused
            e is SocketTimeoutException && "connect" in m -> FailureKind.ConnectTimeout
            e is SSLException -> FailureKind.Tls
            // OkHttp's call timeout cancels the call and surfaces as InterruptedIOException.
            e is InterruptedIOException -> FailureKind.ReadTimeout
            canceled -> FailureKind.ReadTimeout
            "reset" in m || "end of stream" in m || "closed" in m || "eof" in m || "broken pipe" in m -> FailureKind.Reset
            else -> FailureKind.Protocol
        }
        // The detail names the exception class and message: sockets and TLS, never bodies.
        return TransportException.Failed(kind, "${e.javaClass.simpleName}: ${e.message ?: ""}".take(300))
    }

    private companion object {
        /** Headers OkHttp computes itself from the request. */
        val MANAGED = setOf("connection", "content-length", "host", "transfer-encoding")
    }
}
