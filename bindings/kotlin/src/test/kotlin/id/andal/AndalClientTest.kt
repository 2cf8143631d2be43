package id.andal

import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.awaitAll
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import kotlinx.coroutines.TimeoutCancellationException
import org.junit.jupiter.api.AfterAll
import org.junit.jupiter.api.AfterEach
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNotNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.BeforeAll
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.TestInstance
import org.junit.jupiter.api.assertThrows

@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class AndalClientTest {
    private lateinit var sandbox: Sandbox
    private lateinit var people: List<Person>

    @BeforeAll
    fun start() {
        sandbox = Sandbox()
        people = sandbox.people(8)
    }

    @AfterAll
    fun stop() = sandbox.close()

    @AfterEach
    fun clearFault() = sandbox.clearFault()

    // ---- offline validation -------------------------------------------------------

    @Test
    fun `parseNik decodes and masks`() {
        val info = parseNik(" 3316094507990001 ")
        assertEquals("3316**********01", info.masked)
        assertEquals("3316", info.regencyCode)
        assertEquals(Sex.FEMALE, info.sex)
        assertEquals(5.toUByte(), info.birthDay)
        assertEquals(7.toUByte(), info.birthMonth)
        assertTrue(info.province.isNotEmpty() && info.regency.isNotEmpty())
        assertFalse(info.toString().contains("3316094507990001"))
    }

    @Test
    fun `malformed NIK is InvalidInput before any request`() {
        val before = sandbox.requestsReceived()
        val e = assertThrows<AndalException.InvalidInput> { parseNik("3316094507990000") }
        assertTrue(e.reason.contains("serial"), e.reason)
        assertFalse(e.message!!.contains("3316094507990000"))
        assertThrows<AndalException.InvalidInput> { CheckQuery("12345", "Siti", "1999-07-05") }
        assertThrows<AndalException.InvalidInput> { CheckQuery(people[0].nik, "   ", people[0].birthDate) }
        assertThrows<AndalException.InvalidInput> { CheckQuery(people[0].nik, "Siti", "05-07-1999") }
        assertEquals(before, sandbox.requestsReceived())
    }

    @Test
    fun `query never prints personal data`() {
        val p = people[0]
        val q = p.query(birthPlace = p.birthPlace)
        assertFalse(q.describe().contains(p.nik))
        assertFalse(q.describe().contains(p.fullName))
        assertEquals(normalizeName(p.fullName), q.normalizedName())
        assertTrue(q.birthDateMatchesNik())
        assertEquals(parseNik(p.nik).masked, q.nikMasked())
    }

    // ---- online answers -----------------------------------------------------------

    @Test
    fun `happy path match with field results`() {
        val p = people[0]
        sandbox.client().use { client ->
            val d = client.verify(p.query(birthPlace = p.birthPlace))
            assertEquals(Verdict.MATCH, d.verdict)
            assertTrue(d.isMatch)
            assertFalse(d.isOffline)
            assertEquals(FieldResults(FieldMatch.SESUAI, FieldMatch.SESUAI, FieldMatch.SESUAI, FieldMatch.SESUAI), d.fields)
            assertEquals(parseNik(p.nik).masked, d.nikMasked)
            val prov = d.provenance
            assertTrue(prov is Provenance.Online, "$prov")
            prov as Provenance.Online
            assertTrue(prov.requestId.isNotEmpty())
            assertEquals(1u, prov.attempts)
        }
    }

    @Test
    fun `name mismatch and inactive record`() {
        sandbox.client().use { client ->
            val d = client.verify(people[1].query(name = "Nama Yang Lain"))
            assertEquals(Verdict.MISMATCH, d.verdict)
            assertEquals(FieldMatch.TIDAK_SESUAI, d.fields.fullName)
            assertEquals(FieldMatch.SESUAI, d.fields.birthDate)

            val dead = sandbox.people(1, active = false)[0]
            assertEquals(Verdict.INACTIVE_RECORD, client.verify(dead.query()).verdict)
        }
    }

    @Test
    fun `idempotency key given by the caller`() {
        val p = people[2]
        sandbox.client().use { client ->
            val opts = CheckOptions(idempotencyKey = "teller-42:tx-0001")
            val a = client.verify(p.query(), opts)
            val b = client.verify(p.query(), opts)
            assertEquals(a.verdict, b.verdict)
            // The same key with a different body is refused by the registry: Rejected 409.
            val e = assertThrows<AndalException.Rejected> { client.verify(people[3].query(), opts) }
            assertEquals(409.toUShort(), e.status)
            assertEquals("idempotency_key_reused", e.code)
            // A key outside the allowed alphabet is a configuration error, caught locally.
            assertThrows<AndalException.Config> { client.verify(p.query(), CheckOptions(idempotencyKey = "no spaces")) }
        }
    }

    // ---- errors -------------------------------------------------------------------

    @Test
    fun `config errors`() {
        val e = assertThrows<AndalException.Config> {
            AndalClient(ClientConfig(baseUrl = sandbox.url, partnerId = Sandbox.PARTNER), Sandbox.API_KEY)
        }
        assertTrue(e.reason.contains("http"), e.reason)
        assertThrows<AndalException.Config> {
            AndalClient(ClientConfig(baseUrl = "https://registry.example", partnerId = ""), "k")
        }
        assertThrows<AndalException.Config> {
            AndalClient(ClientConfig(baseUrl = "registry.example", partnerId = "p"), "k")
        }
    }

    @Test
    fun `auth errors 401 and 403`() {
        AndalClient(sandbox.config(), "wrong-key").use { c ->
            val e = assertThrows<AndalException.Auth> { c.verify(people[0].query()) }
            assertEquals(401.toUShort(), e.status)
        }
        AndalClient(sandbox.config().copy(partnerId = "suspended-demo"), "sandbox-suspended-key").use { c ->
            val e = assertThrows<AndalException.Auth> { c.verify(people[0].query()) }
            assertEquals(403.toUShort(), e.status)
            assertFalse(e.message!!.contains("sandbox-suspended-key"))
        }
    }

    @Test
    fun `unavailable when nothing listens (refused)`() {
        val dead = ClientConfig(baseUrl = "http://127.0.0.1:9", partnerId = "p", allowInsecureHttp = true, deadlineMs = 1500u)
        AndalClient(dead, "k").use { c ->
            val e = assertThrows<AndalException.Unavailable> { c.verify(people[0].query()) }
            assertTrue(e.attempts >= 1u)
            assertTrue(e.elapsedMs <= 2500u, "took ${e.elapsedMs} ms")
            val reason = e.reason
            val failure = when (reason) {
                is UnavailableReason.Upstream -> reason.failure
                is UnavailableReason.RetryBudgetExhausted -> reason.failure
                else -> null
            }
            assertTrue(failure == FailureKind.Refused || reason is UnavailableReason.DeadlineExceeded || reason is UnavailableReason.BreakerOpen, "$reason / ${e.label}")
        }
    }

    @Test
    fun `unavailable on 503 keeps the status`() {
        sandbox.fault("""{"kind":"error","status":503,"rate":1.0}""")
        sandbox.client(deadlineMs = 2000u).use { c ->
            val e = assertThrows<AndalException.Unavailable> { c.verify(people[0].query()) }
            assertTrue(e.label == "http_503" || e.label == "deadline_exceeded" || e.label == "retry_budget_exhausted", e.label)
        }
    }

    @Test
    fun `hanging registry answers Unavailable within the deadline`() {
        sandbox.fault("""{"kind":"hang"}""")
        sandbox.client(deadlineMs = 800u, attemptTimeoutMs = 400u).use { c ->
            val t0 = System.nanoTime()
            val e = assertThrows<AndalException.Unavailable> { c.verify(people[0].query()) }
            val ms = (System.nanoTime() - t0) / 1_000_000
            assertTrue(ms < 2000, "took $ms ms")
            assertNotNull(e.label)
        }
    }

    @Test
    fun `malformed body is a classified failure, not a crash`() {
        sandbox.fault("""{"kind":"malformed_json"}""")
        sandbox.client(deadlineMs = 1500u).use { c ->
            val e = assertThrows<AndalException.Unavailable> { c.verify(people[0].query()) }
            val r = e.reason
            assertTrue(e.label == "malformed" || (r is UnavailableReason.Upstream && r.failure == FailureKind.Malformed) || e.label == "deadline_exceeded", e.label)
        }
    }

    // ---- coroutines -----------------------------------------------------------------

    @Test
    fun `verifyAsync from coroutines, concurrently`() = runBlocking {
        sandbox.client().use { client ->
            val decisions = people.map { p -> async(Dispatchers.Default) { client.verifyAsync(p.query()) } }.awaitAll()
            assertEquals(people.size, decisions.size)
            assertTrue(decisions.all { it.verdict == Verdict.MATCH })
        }
    }

    @Test
    fun `verifyAsync throws typed exceptions`() = runBlocking {
        AndalClient(sandbox.config(), "wrong-key").use { c ->
            val e = assertThrows<AndalException.Auth> { runBlocking { c.verifyAsync(people[0].query()) } }
            assertEquals(401.toUShort(), e.status)
        }
    }

    @Test
    fun `cancelling the caller does not wait for a hung check`() = runBlocking {
        sandbox.fault("""{"kind":"hang"}""")
        sandbox.client(deadlineMs = 3000u, attemptTimeoutMs = 3000u).use { c ->
            val t0 = System.nanoTime()
            assertThrows<TimeoutCancellationException> {
                runBlocking { withTimeout(200) { c.verifyAsync(people[0].query()) } }
            }
            val ms = (System.nanoTime() - t0) / 1_000_000
            assertTrue(ms < 1500, "cancellation took $ms ms")
        }
    }
}
