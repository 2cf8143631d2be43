package id.andal

import ch.qos.logback.classic.Level
import ch.qos.logback.classic.Logger as LogbackLogger
import ch.qos.logback.classic.spi.ILoggingEvent
import ch.qos.logback.core.read.ListAppender
import org.junit.jupiter.api.AfterAll
import org.junit.jupiter.api.AfterEach
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertTimeoutPreemptively
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.BeforeAll
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.TestInstance
import org.junit.jupiter.api.assertThrows
import org.slf4j.LoggerFactory
import java.time.Duration
import java.util.Collections
import java.util.concurrent.atomic.AtomicInteger

/** Metrics snapshot, Prometheus text and the log bridge (SLF4J), through the bindings. */
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

    @AfterEach
    fun reset() {
        clearLogSink()
        sandbox.clearFault()
    }

    /** Every attempt answered 503; two attempts per check: `attempt failed` at DEBUG twice. */
    private fun failingCheck(p: Person) {
        sandbox.fault("""{"kind":"error","status":503,"rate":1.0}""")
        AndalClient(sandbox.config(deadlineMs = 2000u).copy(maxAttempts = 2u), Sandbox.API_KEY).use { client ->
            assertThrows<AndalException.Unavailable> { client.verify(p.query()) }
        }
        sandbox.clearFault()
    }

    /** Records a sink of this test saw about this class's sandbox (other clients may log). */
    private class Capture(private val host: String) : LogSink {
        val records: MutableList<LogRecord> = Collections.synchronizedList(mutableListOf())
        override fun log(record: LogRecord) {
            if (record.message.contains(host)) records.add(record)
        }
    }

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

    @Test
    fun `log records reach SLF4J at their level with no personal data`() {
        val andal = LoggerFactory.getLogger("andal") as LogbackLogger
        val appender = ListAppender<ILoggingEvent>().apply { start() }
        val oldLevel = andal.level
        andal.level = Level.DEBUG
        andal.isAdditive = false
        andal.addAppender(appender)
        try {
            Slf4jLogSink.install() // DEBUG: what the `andal` logger has enabled now
            val p = sandbox.people(1)[0]
            failingCheck(p)
            val mine = appender.list.filter { it.formattedMessage.contains(host) }
            val failed = mine.filter { it.loggerName == "andal.client" && it.formattedMessage.startsWith("attempt failed") }
            assertEquals(2, failed.size, mine.map { "${it.level} ${it.loggerName} ${it.formattedMessage}" }.toString())
            assertEquals(Level.DEBUG, failed[0].level)
            assertTrue(failed[0].formattedMessage.contains("failure=http_503"), failed[0].formattedMessage)
            for (e in appender.list) {
                assertFalse(e.formattedMessage.contains(p.nik) || e.formattedMessage.contains(p.fullName), e.formattedMessage)
            }
        } finally {
            clearLogSink()
            andal.detachAppender(appender)
            andal.isAdditive = true
            andal.level = oldLevel
        }
    }

    @Test
    fun `records above the sink's level never reach it`() {
        val p = sandbox.people(1)[0]
        val capture = Capture(host)
        setLogSink(capture, LogLevel.INFO)
        failingCheck(p)
        assertTrue(capture.records.none { it.level == LogLevel.DEBUG || it.level == LogLevel.TRACE }, capture.records.toString())
        // The same check at DEBUG: its per-attempt records arrive.
        setLogSink(capture, LogLevel.DEBUG)
        failingCheck(p)
        assertEquals(2, capture.records.count { it.level == LogLevel.DEBUG && it.message.startsWith("attempt failed") }, capture.records.toString())
        // Cleared: nothing more.
        clearLogSink()
        val before = capture.records.size
        failingCheck(p)
        assertEquals(before, capture.records.size)
    }

    @Test
    fun `a throwing sink breaks nothing`() {
        val calls = AtomicInteger()
        setLogSink(object : LogSink {
            override fun log(record: LogRecord) {
                calls.incrementAndGet()
                if (calls.get() % 2 == 0) throw IllegalStateException("sink bug")
                throw LogSinkException.Failed("full")
            }
        }, LogLevel.TRACE)
        val p = sandbox.people(1)[0]
        failingCheck(p)
        sandbox.client().use { client -> assertEquals(Verdict.MATCH, client.verify(p.query()).verdict) }
        assertTrue(calls.get() >= 2, "the sink was called (${calls.get()})")
    }

    @Test
    fun `a sink that calls back into the library does not deadlock`() {
        val p = sandbox.people(1)[0]
        val inner = Capture(host)
        val calls = AtomicInteger()
        // Inside log(): a call into Rust that swaps the sink (takes the sink lock, rebuilds
        // tracing's level cache) while the record is being delivered.
        setLogSink(object : LogSink {
            override fun log(record: LogRecord) {
                calls.incrementAndGet()
                setLogSink(inner, LogLevel.DEBUG)
            }
        }, LogLevel.DEBUG)
        assertTimeoutPreemptively(Duration.ofSeconds(60)) { failingCheck(p) }
        assertTrue(calls.get() >= 1, "the first sink was called")
        // The second attempt's record went to the sink installed from inside the first.
        assertTrue(inner.records.any { it.message.startsWith("attempt failed") }, inner.records.toString())
    }
}
