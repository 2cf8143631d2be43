package id.andal

import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.AfterAll
import org.junit.jupiter.api.AfterEach
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.BeforeAll
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.TestInstance
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.api.io.TempDir
import java.io.File

/** Offline answers from attestation tokens while the registry fails, then reconciliation. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class OfflineTest {
    private lateinit var sandbox: Sandbox

    @TempDir
    lateinit var dir: File

    @BeforeAll
    fun start() {
        sandbox = Sandbox(seed = 23)
    }

    @AfterAll
    fun stop() = sandbox.close()

    @AfterEach
    fun clearFault() = sandbox.clearFault()

    private fun offlineClient(journal: String = "offline.journal"): AndalClient = AndalClient(
        sandbox.config(deadlineMs = 1500u, attemptTimeoutMs = 500u).copy(
            maxAttempts = 1u,
            offline = OfflineSettings(
                trustRootsJwk = listOf(sandbox.rootKeyJwk()),
                journalPath = File(dir, journal).path,
                journalKey = ByteArray(32) { 7 },
                trustCacheDir = File(dir, "trust").path,
            ),
        ),
        Sandbox.API_KEY,
    )

    @Test
    fun `token answers offline while the registry fails, then reconciliation confirms`() = runBlocking {
        val p = sandbox.people(1)[0]
        val token = sandbox.mintToken(p.nik)
        offlineClient().use { client ->
            val trust = client.refreshTrustAsync()
            assertTrue(trust.keys >= 1u && trust.revocationsIssuedAt != null, "$trust")

            sandbox.fault("""{"kind":"error","status":503,"rate":1.0}""")
            val d = client.verifyAsync(p.query(), CheckOptions(token = token))
            assertEquals(Verdict.MATCH, d.verdict)
            assertTrue(d.isOffline)
            val prov = d.provenance
            assertTrue(prov is Provenance.Offline, "$prov")
            prov as Provenance.Offline
            assertEquals("http_503", prov.onlineFailure)
            assertEquals(FieldMatch.SESUAI, d.fields.fullName)
            assertTrue(File(dir, "offline.journal").length() > 0, "decision journaled")
            assertFalse(File(dir, "offline.journal").readBytes().toString(Charsets.ISO_8859_1).contains(p.fullName), "journal is encrypted")
            // The counter's notice: stable code, Bahasa Indonesia, re-confirmed automatically.
            val offlineNotice = decisionNotice(d, NoticeLanguage.INDONESIAN, OfficeZone.WIB)!!
            assertEquals(NoticeCode.OFFLINE_ANSWERED, offlineNotice.code)
            assertEquals("ANDAL-OFFLINE-ANSWERED", offlineNotice.codeText)
            assertTrue(offlineNotice.text.contains("otomatis"), offlineNotice.text)
            assertFalse(offlineNotice.text.contains(p.fullName) || offlineNotice.text.contains(p.nik), "no personal data")

            // Without a token: an honest Unavailable, saying why no offline answer was given.
            val e = assertThrows<AndalException.Unavailable> { client.verify(p.query()) }
            assertEquals("no_token", e.fallbackRefusal)
            val since = client.outageSinceUnixMs()
            assertTrue(since != null && since > 0, "an outage is open: $since")
            val turnedAway = unavailableNotice(e.label, e.lastFailure, since, NoticeLanguage.ENGLISH, OfficeZone.WITA)
            assertEquals(NoticeCode.UNAVAILABLE, turnedAway.code)
            assertTrue(turnedAway.text.contains("since ") && turnedAway.text.contains("WITA"), turnedAway.text)

            assertEquals(1uL, client.outageTotals().checksOffline)

            sandbox.clearFault()
            val report = client.reconcileAsync()
            assertEquals(1uL, report.confirmed, "$report")
            assertEquals(0uL, report.contradicted)
            val item = report.items.single { it.tokenId == prov.tokenId }
            assertEquals(ReconcileOutcome.Confirmed, item.outcome)
            assertEquals("ANDAL-CONFIRMED", reconcileNotice(item.outcome, NoticeLanguage.INDONESIAN, OfficeZone.WIB).codeText)
            assertEquals(d.nikMasked, item.nikMasked)
            // Idempotent.
            val again = client.reconcile()
            assertEquals(0uL, again.confirmed + again.contradicted, "$again")
        }
    }

    @Test
    fun `per-call policy can refuse offline answers`() {
        val p = sandbox.people(1)[0]
        val token = sandbox.mintToken(p.nik)
        offlineClient("policy.journal").use { client ->
            client.refreshTrust()
            sandbox.fault("""{"kind":"error","status":503,"rate":1.0}""")
            val e = assertThrows<AndalException.Unavailable> {
                client.verify(p.query(), CheckOptions(token = token, fallback = FallbackSettings(allowOffline = false)))
            }
            assertEquals("not_allowed", e.fallbackRefusal)
        }
    }

    @Test
    fun `a token never vouches for someone else`() {
        val (p, other) = sandbox.people(2)
        val token = sandbox.mintToken(p.nik)
        offlineClient("wrong.journal").use { client ->
            client.refreshTrust()
            sandbox.fault("""{"kind":"error","status":503,"rate":1.0}""")
            val r = runCatching { client.verify(other.query(), CheckOptions(token = token)) }
            assertTrue(r.isFailure || r.getOrNull()?.verdict != Verdict.MATCH, "$r")
            val renamed = runCatching { client.verify(p.query(name = "Orang Lain Sama Sekali"), CheckOptions(token = token)) }
            assertTrue(renamed.isFailure || renamed.getOrNull()?.verdict != Verdict.MATCH, "$renamed")
        }
    }

    @Test
    fun `bad offline settings are Config errors`() {
        val base = sandbox.config()
        assertThrows<AndalException.Config> {
            AndalClient(base.copy(offline = OfflineSettings(listOf("{}"), File(dir, "j").path, ByteArray(32))), Sandbox.API_KEY)
        }
        assertThrows<AndalException.Config> {
            AndalClient(base.copy(offline = OfflineSettings(listOf(sandbox.rootKeyJwk()), File(dir, "j").path, ByteArray(5))), Sandbox.API_KEY)
        }
    }
}
