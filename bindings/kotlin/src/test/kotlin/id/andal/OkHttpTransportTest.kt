package id.andal

import mockwebserver3.MockResponse
import mockwebserver3.MockWebServer
import mockwebserver3.SocketEffect
import okhttp3.OkHttpClient
import org.junit.jupiter.api.AfterEach
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.BeforeEach
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import java.net.ServerSocket
import java.util.concurrent.TimeUnit

/** OkHttpTransport against OkHttp's MockWebServer: the transport contract, case by case. */
class OkHttpTransportTest {
    private lateinit var server: MockWebServer

    @BeforeEach
    fun start() {
        server = MockWebServer()
        server.start()
    }

    @AfterEach
    fun stop() = server.close()

    private fun get(path: String = "/v1/health") =
        HttpRequest(HttpMethod.GET, server.url(path).toString(), emptyList(), ByteArray(0))

    private fun failure(block: () -> Unit): FailureKind =
        (assertThrows<TransportException.Failed> { block() }).kind

    @Test
    fun `any status is a response, with headers and body`() {
        server.enqueue(MockResponse.Builder().code(200).addHeader("Content-Type", "application/json").body("{\"ok\":true}").build())
        server.enqueue(MockResponse.Builder().code(503).addHeader("Retry-After", "2").body("down").build())
        val ok = OkHttpTransport().send(get(), 2_000u, 1024u)
        assertEquals(200.toUShort(), ok.status)
        assertEquals("{\"ok\":true}", ok.body.decodeToString())
        assertTrue(ok.headers.any { it.name.equals("content-type", true) && it.value == "application/json" })
        val down = OkHttpTransport().send(get(), 2_000u, 1024u)
        assertEquals(503.toUShort(), down.status)
        assertTrue(down.headers.any { it.name.equals("retry-after", true) && it.value == "2" })
    }

    @Test
    fun `a POST carries the core's body and headers`() {
        server.enqueue(MockResponse.Builder().code(200).body("{}").build())
        val body = "{\"nik\":\"...\"}".toByteArray()
        val req = HttpRequest(
            HttpMethod.POST, server.url("/v1/checks").toString(),
            listOf(HttpHeader("Content-Type", "application/json"), HttpHeader("Idempotency-Key", "k-1"),
                HttpHeader("Content-Length", "999")), // computed by OkHttp, not taken from the caller
            body,
        )
        OkHttpTransport().send(req, 2_000u, 1024u)
        val recorded = server.takeRequest(1, TimeUnit.SECONDS)!!
        assertEquals("POST", recorded.method)
        assertEquals("application/json", recorded.headers["Content-Type"])
        assertEquals("k-1", recorded.headers["Idempotency-Key"])
        assertEquals(body.size.toString(), recorded.headers["Content-Length"])
        assertEquals(body.decodeToString(), recorded.body!!.utf8())
    }

    @Test
    fun `redirects are refused, even when the caller's client follows them`() {
        server.enqueue(MockResponse.Builder().code(302).addHeader("Location", server.url("/elsewhere").toString()).build())
        server.enqueue(MockResponse.Builder().code(200).body("followed").build())
        val following = OkHttpClient.Builder().followRedirects(true).followSslRedirects(true).build()
        val resp = OkHttpTransport(following).send(get(), 2_000u, 1024u)
        assertEquals(302.toUShort(), resp.status)
        assertEquals(1, server.requestCount, "the redirect was not followed")
    }

    @Test
    fun `a response slower than the attempt timeout is a read timeout`() {
        server.enqueue(MockResponse.Builder().code(200).headersDelay(3, TimeUnit.SECONDS).body("late").build())
        val started = System.nanoTime()
        assertEquals(FailureKind.ReadTimeout, failure { OkHttpTransport().send(get(), 300u, 1024u) })
        val elapsedMs = (System.nanoTime() - started) / 1_000_000
        assertTrue(elapsedMs < 2_500, "bounded by the attempt timeout, took $elapsedMs ms")
    }

    @Test
    fun `a body that stalls past the timeout is a read timeout too`() {
        server.enqueue(MockResponse.Builder().code(200).bodyDelay(3, TimeUnit.SECONDS).body("late body").build())
        assertEquals(FailureKind.ReadTimeout, failure { OkHttpTransport().send(get(), 300u, 1024u) })
    }

    @Test
    fun `a connection closed before the response is a reset`() {
        // The socket is closed abruptly once the request arrives: no status line ever comes.
        server.enqueue(MockResponse.Builder().onRequestStart(SocketEffect.CloseSocket()).build())
        assertEquals(FailureKind.Reset, failure { OkHttpTransport().send(get(), 2_000u, 1024u) })
        assertEquals(1, server.requestCount, "no retry on connection failure")
    }

    @Test
    fun `a body over the limit is too large`() {
        server.enqueue(MockResponse.Builder().code(200).body("x".repeat(2_000)).build())
        assertEquals(FailureKind.TooLarge, failure { OkHttpTransport().send(get(), 2_000u, 1_000u) })
    }

    @Test
    fun `a closed port is refused`() {
        val port = ServerSocket(0).use { it.localPort }
        val req = HttpRequest(HttpMethod.GET, "http://127.0.0.1:$port/v1/health", emptyList(), ByteArray(0))
        assertEquals(FailureKind.Refused, failure { OkHttpTransport().send(req, 2_000u, 1024u) })
    }
}
