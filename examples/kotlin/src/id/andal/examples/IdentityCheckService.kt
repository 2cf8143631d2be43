package id.andal.examples

import id.andal.AndalClient
import id.andal.AndalException
import id.andal.CheckOptions
import id.andal.CheckQuery
import id.andal.ClientConfig
import id.andal.Decision
import id.andal.JavaHttpTransport
import id.andal.NoticeCode
import id.andal.NoticeLanguage
import id.andal.OfficeZone
import id.andal.ResilienceEvent
import id.andal.ResilienceListener
import id.andal.Verdict
import id.andal.decisionNotice
import id.andal.noticeForCode
import id.andal.unavailableNotice
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.awaitAll
import kotlinx.coroutines.runBlocking
import java.io.File
import java.util.concurrent.atomic.AtomicInteger

/**
 * A bank back end's identity-check service, as a Ktor or Spring controller would call it:
 * one shared [AndalClient], a `suspend` check per account opening, and an answer for the
 * teller in every case (never a spinner, never "server error").
 */
class IdentityCheckService(baseUrl: String, partnerId: String, apiKey: String, sandbox: Boolean) : AutoCloseable {
    /** Breaker transitions, for the bank's monitoring (here: counted and printed). */
    val breakerTransitions = AtomicInteger()

    private val client = AndalClient(
        ClientConfig(
            baseUrl = baseUrl,
            partnerId = partnerId,
            allowInsecureHttp = sandbox, // never for a real registry
            deadlineMs = 3_000u, // the teller gets an answer within 3 s
        ),
        apiKey,
        asyncTransport = JavaHttpTransport(), // the JVM's own HTTP stack, no thread per request
        listener = object : ResilienceListener {
            override fun onEvent(event: ResilienceEvent) {
                if (event is ResilienceEvent.StateTransition) {
                    breakerTransitions.incrementAndGet()
                    println("monitoring: breaker ${event.breaker} ${event.from} -> ${event.to}")
                }
            }
        },
    )

    /** What the teller sees. Contains no personal data beyond the masked NIK. */
    sealed interface TellerAnswer {
        /** `notice` is set for an offline answer: read it to the applicant, print it on the receipt. */
        data class Verified(val nikMasked: String, val requestId: String?, val notice: String? = null) : TellerAnswer
        data class NotVerified(val nikMasked: String, val verdict: Verdict, val detail: String) : TellerAnswer
        data class FixInput(val reason: String) : TellerAnswer
        data class TryLater(val why: String, val afterMs: Long) : TellerAnswer
        data class CallSupport(val why: String) : TellerAnswer
    }

    /**
     * Check an applicant. `transactionId` doubles as the idempotency key, so a retry after
     * a crash is not charged twice.
     */
    suspend fun openAccountCheck(nik: String, fullName: String, birthDate: String, transactionId: String): TellerAnswer {
        val query = try {
            CheckQuery(nik, fullName, birthDate)
        } catch (e: AndalException.InvalidInput) {
            return TellerAnswer.FixInput(e.reason) // caught offline: no fee, no request
        }
        return query.use { q ->
            try {
                describe(client.verifyAsync(q, CheckOptions(idempotencyKey = transactionId)))
            } catch (e: AndalException.Unavailable) {
                // What the applicant is told (stable code + a sentence in Bahasa Indonesia,
                // with since when the registry has been down), not "server error".
                val notice = unavailableNotice(e.label, e.lastFailure, client.outageSinceUnixMs(), NoticeLanguage.INDONESIAN, OfficeZone.WIB)
                TellerAnswer.TryLater("${notice.codeText}: ${notice.text}", 60_000)
            } catch (e: AndalException.InvalidInput) {
                TellerAnswer.FixInput(e.reason)
            } catch (e: AndalException) {
                TellerAnswer.CallSupport(e.message ?: e.javaClass.simpleName) // auth, config, protocol, internal
            }
        }
    }

    private fun describe(d: Decision): TellerAnswer {
        val requestId = (d.provenance as? id.andal.Provenance.Online)?.requestId
        return if (d.isMatch) {
            val notice = decisionNotice(d, NoticeLanguage.INDONESIAN, OfficeZone.WIB)
            TellerAnswer.Verified(d.nikMasked, requestId, notice?.let { "${it.codeText}: ${it.text}" })
        } else {
            TellerAnswer.NotVerified(d.nikMasked, d.verdict, "name=${d.fields.fullName} birthDate=${d.fields.birthDate}")
        }
    }

    fun health() = client.health()

    override fun close() = client.close()
}

private val PERSON = Regex("\"nik\":\"(\\d{16})\",\"full_name\":\"([^\"]*)\",\"birth_date\":\"([^\"]*)\"")

/**
 * Usage: `IdentityCheckService <base-url> <people.jsonl>` where the file holds JSON lines
 * `{"nik":..., "full_name":..., "birth_date":...}` (e.g. `andal-sandbox --sample 5`).
 * Partner and key come from ANDAL_PARTNER / ANDAL_API_KEY (default: the sandbox's demo bank).
 */
fun main(args: Array<String>) {
    require(args.size == 2) { "usage: IdentityCheckService <base-url> <people.jsonl>" }
    val (url, peopleFile) = args
    val applicants = File(peopleFile).readLines().mapNotNull { PERSON.find(it)?.destructured }
    val partner = System.getenv("ANDAL_PARTNER") ?: "demo-bank"
    val key = System.getenv("ANDAL_API_KEY") ?: "sandbox-demo-bank-key"

    IdentityCheckService(url, partner, key, sandbox = url.startsWith("http://127.0.0.1")).use { service ->
        val answers = runBlocking {
            val checks = applicants.mapIndexed { i, (nik, name, date) ->
                async(Dispatchers.IO) { service.openAccountCheck(nik, name, date, "branch-7:tx-$i") }
            }
            // One applicant with a typo in the NIK, and one whose name does not match.
            val typo = async { service.openAccountCheck("33160945079900", "Siti Aminah", "1999-07-05", "branch-7:tx-typo") }
            val wrongName = applicants.firstOrNull()?.let { (nik, _, date) ->
                async { service.openAccountCheck(nik, "Nama Lain Sekali", date, "branch-7:tx-wrong") }
            }
            checks.awaitAll() + typo.await() + listOfNotNull(wrongName?.await())
        }
        answers.forEach { println("teller: $it") }
        val h = service.health()
        println("health: host=${h.host} breaker=${h.breakerState} calls=${h.calls} failed=${h.failed} budget=${"%.1f".format(h.retryBudgetBalance)}")
        val verified = answers.count { it is IdentityCheckService.TellerAnswer.Verified }
        println("example: $verified of ${applicants.size} applicants verified, ${answers.size} answers, 0 spinners")
        check(verified == applicants.size) { "expected every sample applicant to verify" }
        check(answers.any { it is IdentityCheckService.TellerAnswer.FixInput })
        check(answers.any { it is IdentityCheckService.TellerAnswer.NotVerified })
        // The registry is up here, so no applicant needed a notice; this is what one turned
        // away during an outage would read (English this time).
        val sample = noticeForCode(NoticeCode.UNAVAILABLE, null, NoticeLanguage.ENGLISH, OfficeZone.WITA)
        println("notice if the registry were down: ${sample.codeText}: ${sample.text}")
        check(answers.none { it is IdentityCheckService.TellerAnswer.Verified && it.notice != null }) { "online answers carry no notice" }
    }
}
