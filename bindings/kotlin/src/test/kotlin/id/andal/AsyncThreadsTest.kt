package id.andal

import java.lang.management.ManagementFactory
import java.nio.file.Files
import java.nio.file.Paths
import java.util.concurrent.ExecutionException
import java.util.concurrent.TimeUnit
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.awaitAll
import kotlinx.coroutines.delay
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.AfterAll
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.BeforeAll
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.TestInstance
import org.junit.jupiter.api.assertThrows

/**
 * `suspend` checks run on the async engine: 1,000 in flight at once add at most 16
 * threads to the JVM (counted by the JVM and by the OS), where a thread per call would
 * add 1,000.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class AsyncThreadsTest {
    private lateinit var sandbox: Sandbox
    private lateinit var people: List<Person>

    @BeforeAll
    fun start() {
        sandbox = Sandbox(seed = 11)
        people = sandbox.people(50)
    }

    @AfterAll
    fun stop() = sandbox.close()

    /** OS threads of this process (Linux `/proc/self/status`), JVM-attached or not. */
    private fun osThreads(): Int =
        Files.readAllLines(Paths.get("/proc/self/status")).first { it.startsWith("Threads:") }
            .substringAfter(':').trim().toInt()

    /** Thread names of this process by prefix (digits dropped), for the failure message. */
    private fun osThreadNames(): Map<String, Int> =
        Files.list(Paths.get("/proc/self/task")).use { tasks ->
            tasks.toList().mapNotNull { runCatching { Files.readString(it.resolve("comm")).trim() }.getOrNull() }
        }.groupingBy { it.trimEnd { c -> c.isDigit() || c == '-' } }.eachCount()

    private data class Peak(val jvm: Int, val os: Int, val names: Map<String, Int>)

    /** Runs 1,000 concurrent `verifyAsync` and returns the threads added at the peak. */
    private fun thousandInFlight(client: AndalClient): Peak = runBlocking(Dispatchers.Default) {
        client.verifyAsync(people[0].query()) // runtime, pool and callbacks warmed up
        val mx = ManagementFactory.getThreadMXBean()
        val jvmBefore = mx.threadCount
        val osBefore = osThreads()
        mx.resetPeakThreadCount()
        var osPeak = osBefore
        var names = osThreadNames()
        val sampler = launch {
            while (true) {
                val n = osThreads()
                if (n > osPeak) {
                    osPeak = n
                    names = osThreadNames()
                }
                delay(5)
            }
        }
        val decisions = (0 until 1000).map { i ->
            async { client.verifyAsync(people[i % people.size].query()) }
        }.awaitAll()
        sampler.cancel()
        assertEquals(1000, decisions.size)
        assertTrue(decisions.all { it.verdict == Verdict.MATCH })
        Peak(mx.peakThreadCount - jvmBefore, osPeak - osBefore, names)
    }

    @Test
    fun `1000 concurrent suspend verifies on the built-in transport use at most 16 threads`() {
        sandbox.client(deadlineMs = 30_000u, attemptTimeoutMs = 30_000u).use { c ->
            val added = thousandInFlight(c)
            println("AsyncThreadsTest built-in transport: threads added at peak $added")
            assertTrue(added.jvm <= 16 && added.os <= 16, "threads added: $added")
        }
    }

    @Test
    fun `1000 concurrent suspend verifies on java net http use at most 16 threads`() {
        val transport = JavaHttpTransport()
        sandbox.client(deadlineMs = 30_000u, attemptTimeoutMs = 30_000u, asyncTransport = transport).use { c ->
            val added = thousandInFlight(c)
            println("AsyncThreadsTest java.net.http transport: threads added at peak $added")
            assertTrue(added.jvm <= 16 && added.os <= 16, "threads added: $added")
        }
        // Every check went through the foreign transport (1,000 + the warm-up). More is
        // allowed: on a loaded machine a transient failure is retried by the policy, and
        // the decisions above are all MATCH either way.
        assertTrue(transport.requestsSent >= 1001L, "requests sent: ${transport.requestsSent}")
    }

    @Test
    fun `CompletableFuture variants for Java callers`() {
        sandbox.client().use { c ->
            val futures = people.take(20).map { c.verifyFuture(it.query()) }
            val decisions = futures.map { it.get(30, TimeUnit.SECONDS) }
            assertTrue(decisions.all { it.verdict == Verdict.MATCH })
            // Errors arrive as the future's cause, typed as for the suspend API.
            val e = assertThrows<ExecutionException> { c.reconcileFuture().get(30, TimeUnit.SECONDS) }
            assertTrue(e.cause is AndalException.Config, "${e.cause}")
        }
    }
}
