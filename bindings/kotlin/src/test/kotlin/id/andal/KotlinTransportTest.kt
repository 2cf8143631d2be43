package id.andal

import org.junit.jupiter.api.AfterAll
import org.junit.jupiter.api.AfterEach
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.BeforeAll
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.TestInstance
import org.junit.jupiter.api.assertThrows
import java.util.Collections
import kotlinx.coroutines.runBlocking

/** The Rust core's requests carried by a Kotlin-implemented transport. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class KotlinTransportTest {
    private lateinit var sandbox: Sandbox

    @BeforeAll
    fun start() {
        sandbox = Sandbox(seed = 7)
    }

    @AfterAll
    fun stop() = sandbox.close()

    @AfterEach
    fun clearFault() = sandbox.clearFault()

    @Test
    fun `java net http transport carries the checks`() {
        val people = sandbox.people(5)
        val transport = JavaHttpTransport()
        val before = sandbox.requestsReceived()
        sandbox.client(asyncTransport = transport).use { client ->
            for (p in people.take(3)) assertEquals(Verdict.MATCH, client.verify(p.query()).verdict)
            runBlocking {
                for (p in people.drop(3)) assertEquals(Verdict.MATCH, client.verifyAsync(p.query()).verdict)
            }
        }
        assertEquals(5L, transport.requestsSent)
        assertEquals(before + 5, sandbox.requestsReceived(), "the sandbox saw the Kotlin transport's requests")
    }

    @Test
    fun `the transport sees the core's request, headers included`() {
        val seen = Collections.synchronizedList(mutableListOf<HttpRequest>())
        val inner = JavaHttpTransport()
        val spy = object : AsyncHttpTransport {
            override suspend fun send(request: HttpRequest, timeoutMs: ULong, maxBody: ULong): HttpResponse {
                seen += request
                assertTrue(timeoutMs in 1u..5000u, "timeout $timeoutMs")
                return inner.send(request, timeoutMs, maxBody)
            }
        }
        sandbox.client(asyncTransport = spy).use { it.verify(sandbox.people(1)[0].query()) }
        val r = seen.single()
        assertEquals(HttpMethod.POST, r.method)
        assertTrue(r.url.startsWith(sandbox.url) && r.url.endsWith("/v1/checks"), r.url)
        val names = r.headers.map { it.name.lowercase() }
        assertTrue("authorization" in names && "idempotency-key" in names, "$names")
    }

    @Test
    fun `failures thrown by the Kotlin transport are classified`() {
        val refusing = object : HttpTransport {
            override fun send(request: HttpRequest, timeoutMs: ULong, maxBody: ULong): HttpResponse =
                throw TransportException.Failed(FailureKind.Refused, "simulated")
        }
        sandbox.client(deadlineMs = 1000u, transport = refusing).use { c ->
            val e = assertThrows<AndalException.Unavailable> { c.verify(sandbox.people(1)[0].query()) }
            val r = e.reason
            val failure = (r as? UnavailableReason.Upstream)?.failure ?: (r as? UnavailableReason.RetryBudgetExhausted)?.failure
            assertTrue(failure == FailureKind.Refused || e.label == "deadline_exceeded" || e.label == "breaker_open", "${e.label} $r")
        }
        // Any other exception is a Protocol failure, never a crash.
        val buggy = object : HttpTransport {
            override fun send(request: HttpRequest, timeoutMs: ULong, maxBody: ULong): HttpResponse =
                throw IllegalStateException("bug in the app's transport")
        }
        sandbox.client(deadlineMs = 1000u, transport = buggy).use { c ->
            val e = assertThrows<AndalException.Unavailable> { c.verify(sandbox.people(1)[0].query()) }
            val r = e.reason
            assertTrue((r is UnavailableReason.Upstream && r.failure == FailureKind.Protocol) || e.label == "protocol", "${e.label} $r")
        }
    }

    @Test
    fun `oversized body from a transport is refused by the core`() {
        val huge = object : HttpTransport {
            override fun send(request: HttpRequest, timeoutMs: ULong, maxBody: ULong): HttpResponse =
                HttpResponse(200u, listOf(HttpHeader("content-type", "application/json")), ByteArray(maxBody.toInt() + 10))
        }
        sandbox.client(deadlineMs = 1000u, transport = huge).use { c ->
            val e = assertThrows<AndalException.Unavailable> { c.verify(sandbox.people(1)[0].query()) }
            assertEquals("too_large", e.label)
        }
    }

    @Test
    fun `a blocking Kotlin transport still carries the checks`() {
        val inner = JavaHttpTransport()
        val blocking = object : HttpTransport {
            override fun send(request: HttpRequest, timeoutMs: ULong, maxBody: ULong): HttpResponse =
                runBlocking { inner.send(request, timeoutMs, maxBody) }
        }
        sandbox.client(transport = blocking).use { c ->
            assertEquals(Verdict.MATCH, c.verify(sandbox.people(1)[0].query()).verdict)
        }
        assertThrows<AndalException.Config> {
            sandbox.client(transport = blocking, asyncTransport = inner)
        }
    }

    @Test
    fun `an oversized body is refused while it streams in`() {
        val transport = JavaHttpTransport()
        val request = HttpRequest(HttpMethod.GET, sandbox.url + "/v1/keys", emptyList(), ByteArray(0))
        val e = assertThrows<TransportException.Failed> { runBlocking { transport.send(request, 2000u, 8u) } }
        assertEquals(FailureKind.TooLarge, e.kind)
    }

    @Test
    fun `java net http transport classifies a hang as a timeout`() {
        sandbox.fault("""{"kind":"hang"}""")
        val transport = JavaHttpTransport()
        sandbox.client(deadlineMs = 800u, attemptTimeoutMs = 300u, asyncTransport = transport).use { c ->
            val t0 = System.nanoTime()
            val e = assertThrows<AndalException.Unavailable> { c.verify(sandbox.people(1)[0].query()) }
            assertTrue((System.nanoTime() - t0) / 1_000_000 < 2000)
            assertTrue(e.label in setOf("read_timeout", "deadline_exceeded", "retry_budget_exhausted"), e.label)
        }
    }
}
