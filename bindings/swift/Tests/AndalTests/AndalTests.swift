// XCTest for macOS users: `cargo build -p andal-sandbox && cargo build --release -p andal-uniffi`
// at the repository root, then `swift test` here. The online tests start the sandbox binary
// (`$ANDAL_SANDBOX_BIN`, default ../../target/debug/andal-sandbox) and skip when it is absent.
import Foundation
import XCTest
@testable import Andal

final class Sandbox {
    let process = Process()
    let url: String

    init() throws {
        let here = URL(fileURLWithPath: #filePath)
        let defaultBin = here.deletingLastPathComponent().appendingPathComponent("../../../../target/debug/andal-sandbox").standardized.path
        let bin = ProcessInfo.processInfo.environment["ANDAL_SANDBOX_BIN"] ?? defaultBin
        guard FileManager.default.isExecutableFile(atPath: bin) else {
            throw XCTSkip("sandbox binary not found at \(bin)")
        }
        let out = Pipe()
        process.executableURL = URL(fileURLWithPath: bin)
        process.arguments = ["--port", "0", "--seed", "42"]
        process.standardOutput = out
        try process.run()
        var line = Data()
        while true {
            let byte = out.fileHandleForReading.readData(ofLength: 1)
            if byte.isEmpty || byte == Data([0x0A]) { break }
            line.append(byte)
        }
        url = String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespaces)
    }

    func people(_ n: Int) throws -> [[String: Any]] {
        let data = try Data(contentsOf: URL(string: "\(url)/admin/sample?n=\(n)")!)
        return try JSONSerialization.jsonObject(with: data) as? [[String: Any]] ?? []
    }

    func config() -> ClientConfig {
        ClientConfig(baseUrl: url, partnerId: "demo-bank", allowInsecureHttp: true)
    }

    deinit {
        process.terminate()
        process.waitUntilExit()
    }
}

final class AndalTests: XCTestCase {
    func testParseNik() throws {
        let info = try parseNik(nik: "3316094507990001")
        XCTAssertEqual(info.masked, "3316**********01")
        XCTAssertEqual(info.sex, .female)
    }

    func testInvalidNikThrowsInvalidInput() {
        XCTAssertThrowsError(try parseNik(nik: "3316094507990000")) { error in
            guard case AndalError.invalidInput(let reason, let field, let part, let position) = error else {
                return XCTFail("unexpected \(error)")
            }
            XCTAssertTrue(reason.contains("serial"))
            XCTAssertEqual(field, "nik")
            XCTAssertEqual(part, "serial")
            XCTAssertNil(position)
            // A sentence from Rust's Display, not a dump of the enum; never the NIK.
            XCTAssertEqual(error.localizedDescription, "invalid input: \(reason)")
            XCTAssertFalse(error.localizedDescription.contains("3316094507990000"))
        }
        XCTAssertThrowsError(try parseNik(nik: "33160945079900x1")) { error in
            guard case AndalError.invalidInput(_, let field, let part, let position) = error else {
                return XCTFail("unexpected \(error)")
            }
            XCTAssertEqual(field, "nik")
            XCTAssertEqual(part, "non_digit")
            XCTAssertEqual(position, 15)
        }
    }

    func testVerifyAsyncAgainstSandbox() async throws {
        let sandbox = try Sandbox()
        let p = try sandbox.people(1)[0]
        let client = try AndalClient(config: sandbox.config(), apiKey: "sandbox-demo-bank-key")
        let query = try CheckQuery(nik: p["nik"] as! String, fullName: p["full_name"] as! String,
                                   birthDate: p["birth_date"] as! String)
        let decision = try await client.verifyAsync(query: query)
        XCTAssertEqual(decision.verdict, .match)
        XCTAssertTrue(decision.isMatch)
    }

    func testURLSessionTransportCarriesTheCheck() async throws {
        let sandbox = try Sandbox()
        let p = try sandbox.people(1)[0]
        let client = try AndalClient(config: sandbox.config(), apiKey: "sandbox-demo-bank-key",
                                     asyncTransport: URLSessionTransport())
        let query = try CheckQuery(nik: p["nik"] as! String, fullName: p["full_name"] as! String,
                                   birthDate: p["birth_date"] as! String)
        let decision = try await client.verifyAsync(query: query)
        XCTAssertEqual(decision.verdict, .match)
    }

    func testWrongKeyIsAuthError() async throws {
        let sandbox = try Sandbox()
        let p = try sandbox.people(1)[0]
        let client = try AndalClient(config: sandbox.config(), apiKey: "wrong-key")
        let query = try CheckQuery(nik: p["nik"] as! String, fullName: p["full_name"] as! String,
                                   birthDate: p["birth_date"] as! String)
        do {
            _ = try await client.verifyAsync(query: query)
            XCTFail("expected AndalError.auth")
        } catch AndalError.auth(let status, _) {
            XCTAssertEqual(status, 401)
        }
    }

    func testUnavailableWhenNothingListens() async throws {
        let config = ClientConfig(baseUrl: "http://127.0.0.1:9", partnerId: "p", allowInsecureHttp: true, deadlineMs: 1500)
        let client = try AndalClient(config: config, apiKey: "k")
        let query = try CheckQuery(nik: "3316094507990001", fullName: "Siti Aminah", birthDate: "1999-07-05")
        do {
            _ = try await client.verifyAsync(query: query)
            XCTFail("expected AndalError.unavailable")
        } catch AndalError.unavailable(_, let label, _, _, let elapsedMs, _) {
            XCTAssertFalse(label.isEmpty)
            XCTAssertLessThan(elapsedMs, 2500)
        }
    }

    /// A caller's own delegate (e.g. for pinning) does not turn redirects back on: the
    /// session's delegate is the wrapper, which refuses them.
    func testRedirectsStayRefusedWithTheCallersDelegate() {
        final class Following: NSObject, URLSessionTaskDelegate {
            func urlSession(_ session: URLSession, task: URLSessionTask,
                            willPerformHTTPRedirection response: HTTPURLResponse,
                            newRequest request: URLRequest,
                            completionHandler: @escaping (URLRequest?) -> Void) {
                completionHandler(request) // would follow
            }
        }
        let wrapper = NoRedirects(wrapping: Following())
        let url = URL(string: "https://registry.example/v1/checks")!
        let response = HTTPURLResponse(url: url, statusCode: 302, httpVersion: "HTTP/1.1",
                                       headerFields: ["Location": "https://elsewhere.example/"])!
        let session = URLSession(configuration: .ephemeral)
        var followed: URLRequest?? = .none
        wrapper.urlSession(session, task: session.dataTask(with: url), willPerformHTTPRedirection: response,
                           newRequest: URLRequest(url: URL(string: "https://elsewhere.example/")!)) { followed = $0 }
        XCTAssertEqual(followed, .some(nil), "the redirect is refused")
        _ = URLSessionTransport(delegate: Following()) // the public initialiser takes it
    }
}
