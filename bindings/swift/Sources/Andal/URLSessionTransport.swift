// Hand-written (not generated): an AsyncHttpTransport on URLSession, so that checks use the
// platform's HTTP stack (proxies, App Transport Security, certificate pinning in your own
// URLSessionDelegate, OS network policy).
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// An `AsyncHttpTransport` on `URLSession` (async/await): no thread waits while a request
/// is in flight. One attempt, no redirects, no cookies or cache, the whole exchange bounded
/// by `timeoutMs`, the body refused as soon as it passes `maxBody`, failures classified.
/// Cancelling the check cancels the request.
///
/// ```swift
/// let client = try AndalClient(config: config, apiKey: key, asyncTransport: URLSessionTransport())
/// ```
public final class URLSessionTransport: AsyncHttpTransport, @unchecked Sendable {
    private let session: URLSession

    /// - Parameter configuration: e.g. with your own `connectionProxyDictionary`.
    /// - Parameter delegate: e.g. for certificate pinning. Its authentication-challenge
    ///   methods are called as usual; redirects stay refused whatever it implements (the
    ///   session's delegate is a wrapper that answers redirects itself).
    public init(configuration: URLSessionConfiguration = .ephemeral, delegate: URLSessionDelegate? = nil) {
        configuration.httpShouldSetCookies = false
        configuration.urlCache = nil
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        session = URLSession(configuration: configuration, delegate: NoRedirects(wrapping: delegate), delegateQueue: nil)
    }

    public func send(request: HttpRequest, timeoutMs: UInt64, maxBody: UInt64) async throws -> HttpResponse {
        guard let url = URL(string: request.url) else {
            throw TransportError.failed(kind: .protocol, detail: "invalid URL")
        }
        var req = URLRequest(url: url)
        req.httpMethod = request.method == .get ? "GET" : "POST"
        req.timeoutInterval = max(Double(timeoutMs) / 1000.0, 0.001)
        for h in request.headers {
            req.addValue(h.value, forHTTPHeaderField: h.name)
        }
        if request.method == .post {
            req.httpBody = request.body
        }
        let session = self.session
        let timeoutNs = min(timeoutMs, UInt64.max / 1_000_000) * 1_000_000
        // The exchange races a timer over the whole exchange (URLRequest's timeout is an
        // idle timeout); the loser is cancelled.
        return try await withThrowingTaskGroup(of: HttpResponse?.self) { group in
            group.addTask { try await URLSessionTransport.exchange(session, req, maxBody) }
            group.addTask {
                try await Task.sleep(nanoseconds: timeoutNs)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let response = first else {
                throw TransportError.failed(kind: .readTimeout, detail: "no complete response within \(timeoutMs) ms")
            }
            return response
        }
    }

    static func exchange(_ session: URLSession, _ req: URLRequest, _ maxBody: UInt64) async throws -> HttpResponse {
        let bytes: URLSession.AsyncBytes
        let response: URLResponse
        do {
            (bytes, response) = try await session.bytes(for: req)
        } catch {
            throw classify(error)
        }
        guard let http = response as? HTTPURLResponse else {
            throw TransportError.failed(kind: .protocol, detail: "not an HTTP response")
        }
        var body = Data()
        do {
            for try await byte in bytes {
                if UInt64(body.count) >= maxBody {
                    throw TransportError.failed(kind: .tooLarge, detail: "body over \(maxBody) bytes")
                }
                body.append(byte)
            }
        } catch let e as TransportError {
            throw e
        } catch {
            throw classify(error)
        }
        var headers: [HttpHeader] = []
        for (k, v) in http.allHeaderFields {
            if let name = k as? String {
                headers.append(HttpHeader(name: name, value: "\(v)"))
            }
        }
        return HttpResponse(status: UInt16(clamping: http.statusCode), headers: headers, body: body)
    }

    static func classify(_ error: Error) -> TransportError {
        let kind: FailureKind
        if let e = error as? URLError {
            switch e.code {
            case .cannotConnectToHost, .notConnectedToInternet: kind = .refused
            case .cannotFindHost, .dnsLookupFailed: kind = .dns
            case .timedOut: kind = .readTimeout
            case .secureConnectionFailed, .serverCertificateUntrusted, .serverCertificateHasBadDate,
                 .serverCertificateNotYetValid, .serverCertificateHasUnknownRoot,
                 .clientCertificateRejected, .clientCertificateRequired, .cancelled:
                // .cancelled is what a pinning delegate's rejection looks like.
                kind = .tls
            case .networkConnectionLost: kind = .reset
            case .dataLengthExceedsMaximum: kind = .tooLarge
            default: kind = .protocol
            }
        } else {
            kind = .protocol
        }
        return .failed(kind: kind, detail: String(describing: type(of: error)) + " " + (error as NSError).domain + " \((error as NSError).code)")
    }
}

/// Refuses redirects (the client must see the registry's own answer) and forwards the
/// authentication challenges, which certificate pinning needs, to the caller's delegate.
/// Other delegate callbacks of the caller's delegate are not called.
final class NoRedirects: NSObject, URLSessionTaskDelegate, @unchecked Sendable {
    private let inner: URLSessionDelegate?

    init(wrapping inner: URLSessionDelegate? = nil) {
        self.inner = inner
    }

    func urlSession(_ session: URLSession, task: URLSessionTask,
                    willPerformHTTPRedirection response: HTTPURLResponse,
                    newRequest request: URLRequest,
                    completionHandler: @escaping (URLRequest?) -> Void) {
        completionHandler(nil)
    }

    func urlSession(_ session: URLSession,
                    didReceive challenge: URLAuthenticationChallenge,
                    completionHandler: @escaping (URLSession.AuthChallengeDisposition, URLCredential?) -> Void) {
        if !forwardSessionChallenge(session, challenge, completionHandler) {
            completionHandler(.performDefaultHandling, nil)
        }
    }

    func urlSession(_ session: URLSession, task: URLSessionTask,
                    didReceive challenge: URLAuthenticationChallenge,
                    completionHandler: @escaping (URLSession.AuthChallengeDisposition, URLCredential?) -> Void) {
        guard let taskDelegate = inner as? URLSessionTaskDelegate else {
            // Server trust arrives as a session-level challenge on Apple platforms; a
            // delegate that is not a task delegate may implement only that one.
            if !forwardSessionChallenge(session, challenge, completionHandler) {
                completionHandler(.performDefaultHandling, nil)
            }
            return
        }
        #if canImport(ObjectiveC)
        if taskDelegate.urlSession?(session, task: task, didReceive: challenge, completionHandler: completionHandler) == nil,
           !forwardSessionChallenge(session, challenge, completionHandler) {
            completionHandler(.performDefaultHandling, nil)
        }
        #else
        // swift-corelibs-foundation: protocol methods with default implementations.
        taskDelegate.urlSession(session, task: task, didReceive: challenge, completionHandler: completionHandler)
        #endif
    }

    /// Hands a challenge to the caller's session-level handler; false if it has none.
    private func forwardSessionChallenge(
        _ session: URLSession, _ challenge: URLAuthenticationChallenge,
        _ completionHandler: @escaping (URLSession.AuthChallengeDisposition, URLCredential?) -> Void
    ) -> Bool {
        guard let inner = inner else { return false }
        #if canImport(ObjectiveC)
        return inner.urlSession?(session, didReceive: challenge, completionHandler: completionHandler) != nil
        #else
        inner.urlSession(session, didReceive: challenge, completionHandler: completionHandler)
        return true
        #endif
    }
}
