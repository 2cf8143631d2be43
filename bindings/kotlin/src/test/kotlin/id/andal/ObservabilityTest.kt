package id.andal

import org.junit.jupiter.api.AfterAll
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.BeforeAll
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.TestInstance

/** Metrics snapshot and Prometheus text, through the bindings. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ObservabilityTest {
    private lateinit var sandbox: Sandbox
    private lateinit var host: String

    @BeforeAll
    fun start() {
        sandbox = Sandbox(seed = 23)
        host = sandbox.url.removePrefix("http://").trimEnd('/')
    }

    @AfterAll
    fun stop() = sandbox.close()

    private fun checks(outcome: String, provenance: String = "online"): Double =
        metricsSnapshot().singleOrNull {
            it.name == "andal_checks_total" && it.label("host") == host &&
                it.label("provenance") == provenance && it.label("outcome") == outcome
        }?.value ?: 0.0

    private fun MetricSample.label(name: String) = labels.firstOrNull { it.name == name }?.value

    @Test
    fun `a check shows in the snapshot and the Prometheus text`() {
        val (a, b) = sandbox.people(2)
        // The snapshot is process-wide: compare with the values before (a port may be reused).
        val matchBefore = checks("match")
        val mismatchBefore = checks("mismatch")
        sandbox.client().use { client ->
            assertEquals(Verdict.MATCH, client.verify(a.query()).verdict)
            assertEquals(Verdict.MATCH, client.verify(b.query()).verdict)
            assertEquals(Verdict.MISMATCH, client.verify(a.query(name = "Nama Lain Sekali")).verdict)
        }
        assertEquals(matchBefore + 2, checks("match"))
        assertEquals(mismatchBefore + 1, checks("mismatch"))

        val snapshot = metricsSnapshot()
        val counter = snapshot.first { it.name == "andal_checks_total" && it.label("host") == host && it.label("outcome") == "match" }
        assertEquals(MetricKind.COUNTER, counter.kind)
        assertEquals(listOf("host", "outcome", "provenance"), counter.labels.map { it.name })
        val duration = snapshot.first {
            it.name == "andal_check_duration_seconds" && it.label("host") == host && it.label("provenance") == "online"
        }
        assertEquals(MetricKind.HISTOGRAM, duration.kind)
        assertTrue(duration.count >= 3uL, "$duration")
        assertEquals(Double.POSITIVE_INFINITY, duration.buckets.last().upperBound)
        assertEquals(duration.count, duration.buckets.last().count)
        val text = metricsPrometheus()
        val total = checks("match").toLong()
        assertTrue(text.contains("# TYPE andal_checks_total counter\n"))
        assertTrue(
            text.contains("andal_checks_total{host=\"$host\",outcome=\"match\",provenance=\"online\"} $total\n"),
            text.lines().filter { it.contains(host) && it.startsWith("andal_checks_total") }.toString(),
        )
        for (p in listOf(a, b)) {
            assertFalse(text.contains(p.nik) || text.contains(p.fullName))
        }
    }
}
