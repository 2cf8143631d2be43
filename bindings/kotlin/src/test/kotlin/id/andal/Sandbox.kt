package id.andal

import java.io.BufferedReader
import java.io.InputStreamReader
import java.net.URI
import java.net.http.HttpClient
import java.net.http.HttpRequest as JHttpRequest
import java.net.http.HttpResponse as JHttpResponse
import java.time.Duration
import java.util.concurrent.TimeUnit

/** A synthetic person from the sandbox (synthetic data: shown in full). */
data class Person(val nik: String, val fullName: String, val birthDate: String, val birthPlace: String)

/**
 * The `andal-sandbox` binary (path in the `andal.sandbox.bin` system property, set by the
 * pom), started on a free loopback port and killed on [close].
 */
class Sandbox(seed: Long = 42) : AutoCloseable {
    private val process: Process
    val url: String
    private val http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build()

    init {
        val bin = System.getProperty("andal.sandbox.bin")
            ?: error("system property andal.sandbox.bin is not set (run through Maven)")
        process = ProcessBuilder(bin, "--port", "0", "--seed", seed.toString())
            .redirectError(ProcessBuilder.Redirect.DISCARD)
            .start()
        val out = BufferedReader(InputStreamReader(process.inputStream))
        url = out.readLine()?.trim() ?: error("sandbox printed no URL")
        require(url.startsWith("http://127.0.0.1:")) { "unexpected sandbox URL line: $url" }
        // Keep draining stdout so the sandbox never blocks on a full pipe.
        Thread { runCatching { while (out.readLine() != null) Unit } }.apply { isDaemon = true }.start()
    }

    fun config(deadlineMs: ULong? = null, attemptTimeoutMs: ULong? = null) = ClientConfig(
        baseUrl = url,
        partnerId = PARTNER,
        allowInsecureHttp = true,
        deadlineMs = deadlineMs,
        attemptTimeoutMs = attemptTimeoutMs,
    )

    fun client(
        deadlineMs: ULong? = null,
        attemptTimeoutMs: ULong? = null,
        transport: HttpTransport? = null,
        asyncTransport: AsyncHttpTransport? = null,
    ) = AndalClient(config(deadlineMs, attemptTimeoutMs), API_KEY, transport, asyncTransport = asyncTransport)

    private fun admin(method: String, path: String, json: String? = null): Pair<Int, String> {
        val b = JHttpRequest.newBuilder(URI.create(url + path)).timeout(Duration.ofSeconds(5))
        when {
            json != null -> b.method(method, JHttpRequest.BodyPublishers.ofString(json)).header("Content-Type", "application/json")
            else -> b.method(method, JHttpRequest.BodyPublishers.noBody())
        }
        val r = http.send(b.build(), JHttpResponse.BodyHandlers.ofString())
        return r.statusCode() to r.body()
    }

    /** `PUT /admin/fault`, e.g. `{"kind":"error","status":503,"rate":1.0}`. */
    fun fault(json: String) {
        val (status, body) = admin("PUT", "/admin/fault", json)
        check(status in 200..299) { "PUT /admin/fault -> $status $body" }
    }

    fun clearFault() {
        admin("DELETE", "/admin/fault")
    }

    /** `requests_received` for a partner in `GET /admin/accounting`. */
    fun requestsReceived(partner: String = PARTNER): Long {
        val (_, body) = admin("GET", "/admin/accounting")
        val m = Regex("\"${Regex.escape(partner)}\":\\{\"requests_received\":(\\d+)").find(body)
            ?: error("no accounting for $partner in $body")
        return m.groupValues[1].toLong()
    }

    /** The issuer's root public key (JWK JSON) that partners pin. */
    fun rootKeyJwk(): String {
        val (status, body) = admin("GET", "/admin/root-key")
        check(status == 200) { "GET /admin/root-key -> $status" }
        return body
    }

    /** An attestation token for this NIK, for [partner]. */
    fun mintToken(nik: String, partner: String = PARTNER): String {
        val (status, body) = admin("POST", "/admin/tokens", "{\"nik\":\"$nik\",\"partner\":\"$partner\"}")
        check(status == 200) { "POST /admin/tokens -> $status" }
        return Regex("\"token\":\"([^\"]+)\"").find(body)!!.groupValues[1]
    }

    fun people(n: Int, active: Boolean = true): List<Person> {
        val (status, body) = admin("GET", "/admin/sample?n=$n&active=$active")
        check(status == 200) { "GET /admin/sample -> $status" }
        return PERSON.findAll(body).map {
            val (nik, name, date, place) = it.destructured
            Person(nik, name, date, place)
        }.toList().also { check(it.size == n) { "expected $n people in $body" } }
    }

    override fun close() {
        process.destroy()
        if (!process.waitFor(5, TimeUnit.SECONDS)) process.destroyForcibly().waitFor()
    }

    companion object {
        const val PARTNER = "demo-bank"
        const val API_KEY = "sandbox-demo-bank-key"
        private val PERSON = Regex(
            "\\{\"nik\":\"(\\d{16})\",\"full_name\":\"([^\"]*)\",\"birth_date\":\"([^\"]*)\",\"birth_place\":\"([^\"]*)\"",
        )
    }
}

fun Person.query(name: String = fullName, birthPlace: String? = null) =
    CheckQuery(nik, name, birthDate, birthPlace)
