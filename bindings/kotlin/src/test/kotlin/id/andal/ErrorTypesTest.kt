package id.andal

import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.api.io.TempDir
import java.io.File

/** Structured invalid input (like Python's InvalidNik) and the token / journal exception types. */
class ErrorTypesTest {
    @TempDir
    lateinit var dir: File

    @Test
    fun `invalid input names the field, the NIK part and the position`() {
        val nonDigit = assertThrows<AndalException.InvalidInput> { parseNik("33160945079900x1") }
        assertEquals("nik", nonDigit.field)
        assertEquals("non_digit", nonDigit.part)
        assertEquals(15u, nonDigit.position)
        assertFalse(nonDigit.message!!.contains("33160945079900"), "never echoes the digits")
        // toString() is Rust's Display (exported), the sentence Swift shows as localizedDescription.
        assertEquals("invalid input: ${nonDigit.reason}", nonDigit.toString())
        assertFalse(nonDigit.toString().contains("33160945079900"), "never echoes the digits")

        val serial = assertThrows<AndalException.InvalidInput> { parseNik("3316094507990000") }
        assertEquals(Triple("nik", "serial", null), Triple(serial.field, serial.part, serial.position))

        val short = assertThrows<AndalException.InvalidInput> { parseNik("12345") }
        assertEquals(Triple("length", 5u, "nik"), Triple(short.part, short.position, short.field))

        val name = assertThrows<AndalException.InvalidInput> { CheckQuery("3316094507990001", "   ", "1999-07-05") }
        assertEquals("full_name", name.field)
        assertEquals("empty", name.part)
        assertNull(name.position)

        val date = assertThrows<AndalException.InvalidInput> { CheckQuery("3316094507990001", "Siti", "05-07-1999") }
        assertEquals(Pair("birth_date", "invalid_date"), Pair(date.field, date.part))
    }

    @Test
    fun `a journal opened with the wrong key is a Journal exception`() {
        val path = File(dir, "offline.journal").path
        fun client(key: Byte) = Sandbox(seed = 7).use { sandbox ->
            AndalClient(
                sandbox.config().copy(
                    offline = OfflineSettings(
                        trustRootsJwk = listOf(sandbox.rootKeyJwk()),
                        journalPath = path,
                        journalKey = ByteArray(32) { key },
                        trustCacheDir = null,
                    ),
                ),
                Sandbox.API_KEY,
            ).close()
        }
        client(7)
        val e = assertThrows<AndalException.Journal> { client(8) }
        assertFalse(e.reason.isEmpty())
        assertEquals("offline journal: ${e.reason}", e.toString())
    }

    @Test
    fun `trust documents signed under another root are a Token exception`() {
        Sandbox(seed = 7).use { registry ->
            Sandbox(seed = 8).use { other -> // the root key derives from the seed
                AndalClient(
                    registry.config().copy(
                        offline = OfflineSettings(
                            trustRootsJwk = listOf(other.rootKeyJwk()), // not the registry's root
                            journalPath = File(dir, "t.journal").path,
                            journalKey = ByteArray(32) { 1 },
                            trustCacheDir = null,
                        ),
                    ),
                    Sandbox.API_KEY,
                ).use { client ->
                    val e = assertThrows<AndalException.Token> { client.refreshTrust() }
                    assertFalse(e.reason.isEmpty())
                }
            }
        }
    }
}
