package example

import id.andal.AndalClient
import id.andal.CheckQuery
import id.andal.ClientConfig
import java.io.File
import kotlin.system.exitProcess

/**
 * Checks that the installed `id.andal:andal` jar works on its own: the native library is
 * loaded from the jar (JNA's `linux-x86-64/` resource), not from a path, and one check
 * against the sandbox matches. Exit status 0 on success.
 */
fun main(args: Array<String>) {
    val (url, peopleFile) = args
    check(System.getProperty("jna.library.path") == null) { "jna.library.path must not be set" }
    // The first line of `andal-sandbox --sample`: {"nik": "...", "full_name": "...", "birth_date": "..."}
    val person = File(peopleFile).readLines().first()
    fun field(name: String): String =
        Regex("\"$name\"\\s*:\\s*\"([^\"]*)\"").find(person)?.groupValues?.get(1)
            ?: error("no $name in the sample")

    AndalClient(
        ClientConfig(baseUrl = url, partnerId = "demo-bank", allowInsecureHttp = true, deadlineMs = 3_000u),
        "sandbox-demo-bank-key",
    ).use { client ->
        val d = client.verify(CheckQuery(field("nik"), field("full_name"), field("birth_date")))
        val lib = com.sun.jna.NativeLibrary.getInstance("andal_uniffi").file
        println("consumer: ${d.nikMasked} ${d.verdict}; native library from ${lib?.path}")
        // JNA unpacks a library found in a jar to a temp file (jna*.tmp / libandal_uniffi*.so).
        if (!d.isMatch || lib == null || lib.path.contains("/target/")) exitProcess(1)
    }
}
