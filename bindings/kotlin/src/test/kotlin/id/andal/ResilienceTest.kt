package id.andal

import org.junit.jupiter.api.AfterAll
import org.junit.jupiter.api.AfterEach
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.BeforeAll
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.TestInstance
import org.junit.jupiter.api.assertThrows
import java.util.concurrent.CopyOnWriteArrayList

/** Breaker trips, listener events and health, through the bindings. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ResilienceTest {
    private lateinit var sandbox: Sandbox

    @BeforeAll
    fun start() {
        sandbox = Sandbox(seed = 11)
    }

    @AfterAll
    fun stop() = sandbox.close()

    @AfterEach
    fun clearFault() = sandbox.clearFault()

    private class Recorder : ResilienceListener {
        val events = CopyOnWriteArrayList<ResilienceEvent>()
        override fun onEvent(event: ResilienceEvent) {
            events += event
        }
    }

    private fun tripConfig() = sandbox.config(deadlineMs = 2000u).copy(
        maxAttempts = 1u,
        breaker = BreakerSettings(
            countWindow = 4u,
            minimumNumberOfCalls = 4u,
            failureRateThreshold = 50f,
            waitDurationInOpenMs = 60_000u,
        ),
    )

    @Test
    fun `breaker trips on 503s, emits events, then fails fast without calling the registry`() {
        val person = sandbox.people(1)[0]
        val recorder = Recorder()
        AndalClient(tripConfig(), Sandbox.API_KEY, listener = recorder).use { client ->
            assertEquals(BreakerState.CLOSED, client.health().breakerState)
            sandbox.fault("""{"kind":"error","status":503,"rate":1.0}""")
            repeat(4) { assertThrows<AndalException.Unavailable> { client.verify(person.query()) } }

            val transitions = recorder.events.filterIsInstance<ResilienceEvent.StateTransition>()
            assertTrue(transitions.any { it.from == BreakerState.CLOSED && it.to == BreakerState.OPEN }, "$transitions")
            assertEquals(BreakerState.OPEN, client.health().breakerState)

            sandbox.clearFault()
            val before = sandbox.requestsReceived()
            val e = assertThrows<AndalException.Unavailable> { client.verify(person.query()) }
            assertEquals("breaker_open", e.label)
            assertTrue(e.reason is UnavailableReason.BreakerOpen, "${e.reason}")
            assertEquals(before, sandbox.requestsReceived(), "an open breaker sends nothing")
            assertTrue(recorder.events.any { it is ResilienceEvent.CallRejected })
            val health = client.health()
            assertTrue(health.notPermitted >= 1u)
            assertTrue(health.host.startsWith("127.0.0.1:"), health.host)

            // The outage record saw it all.
            val totals = client.outageTotals()
            assertTrue(totals.incidents >= 1u, "$totals")
            assertTrue(totals.breakerTransitions >= 1u && totals.breakerRejections >= 1u, "$totals")
            assertTrue(totals.checksRefused >= 5u, "$totals")
            assertTrue(client.outageReportJson().contains("\"format_version\": 1"))
            assertTrue(client.outageSummary().isNotBlank())
            assertTrue(!client.outageReportJson().contains(person.nik), "no personal data in the record")

            client.resetBreaker()
            assertEquals(Verdict.MATCH, client.verify(person.query()).verdict)
            assertEquals(1uL, client.outageTotals().checksOnline)
        }
    }

    @Test
    fun `forced open and disabled breaker`() {
        val person = sandbox.people(1)[0]
        sandbox.client().use { client ->
            client.forceOpenBreaker()
            assertEquals(BreakerState.FORCED_OPEN, client.health().breakerState)
            assertThrows<AndalException.Unavailable> { client.verify(person.query()) }
            client.disableBreaker()
            assertEquals(Verdict.MATCH, client.verify(person.query()).verdict)
            client.resetBreaker()
            assertEquals(BreakerState.CLOSED, client.health().breakerState)
        }
    }

    @Test
    fun `retries are reported to the listener and a throwing listener breaks nothing`() {
        val person = sandbox.people(1)[0]
        val recorder = Recorder()
        sandbox.fault("""{"kind":"error","status":503,"rate":1.0}""")
        AndalClient(sandbox.config(deadlineMs = 3000u), Sandbox.API_KEY, listener = recorder).use { client ->
            assertThrows<AndalException.Unavailable> { client.verify(person.query()) }
        }
        assertTrue(
            recorder.events.any { it is ResilienceEvent.RetryScheduled || it is ResilienceEvent.RetryStopped || it is ResilienceEvent.RetryBudgetExhausted },
            "${recorder.events}",
        )
        sandbox.clearFault()
        val throwing = object : ResilienceListener {
            override fun onEvent(event: ResilienceEvent): Unit = throw IllegalStateException("listener bug")
        }
        AndalClient(tripConfig(), Sandbox.API_KEY, listener = throwing).use { client ->
            client.forceOpenBreaker()
            assertThrows<AndalException.Unavailable> { client.verify(person.query()) }
            client.resetBreaker()
            assertEquals(Verdict.MATCH, client.verify(person.query()).verdict)
        }
    }

    @Test
    fun `invalid breaker settings are a Config error`() {
        assertThrows<AndalException.Config> {
            AndalClient(tripConfig().copy(breaker = BreakerSettings(failureRateThreshold = 150f)), Sandbox.API_KEY)
        }
    }
}
