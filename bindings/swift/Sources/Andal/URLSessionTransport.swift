// Hand-written (not generated): an HttpTransport on URLSession, so that checks use the
// platform's HTTP stack (proxies, App Transport Security, certificate pinning in your own
// URLSessionDelegate, OS network policy).
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// An `HttpTransport` on `URLSession`. One attempt, no redirects, no cookies or cache,
/// bounded by `timeoutMs`, body limited to `maxBody`, failures classified.
///
/// ```swift
/// let client = try AndalClient(config: config, apiKey: key, transport: URLSessionTransport())
/// ```
public final class URLSessionTransport: HttpTransport, @unchecked Sendable {
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

    public func send(request: HttpRequest, timeoutMs: UInt64, maxBody: UInt64) throws -> HttpResponse {
        guard let url = URL(string: request.url) else {
            throw TransportError.Failed(kind: .protocol, detail: "invalid URL")
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

        let box = ResultBox()
        let done = DispatchSemaphore(value: 0)
        let task = session.dataTask(with: req) { data, response, error in
            defer { done.signal() }
            if let error = error {
                box.set(.failure(URLSessionTransport.classify(error)))
                return
            }
            guard let http = response as? HTTPURLResponse else {
                box.set(.failure(.Failed(kind: .protocol, detail: "not an HTTP response")))
                return
            }
            let body = data ?? Data()
            if UInt64(body.count) > maxBody {
                box.set(.failure(.Failed(kind: .tooLarge, detail: "body over \(maxBody) bytes")))
                return
            }
            var headers: [HttpHeader] = []
            for (k, v) in http.allHeaderFields {
                if let name = k as? String {
                    headers.append(HttpHeader(name: name, value: "\(v)"))
                }
            }
            box.set(.success(HttpResponse(status: UInt16(clamping: http.statusCode), headers: headers, body: body)))
        }
        task.resume()
        if done.wait(timeout: .now() + .milliseconds(Int(clamping: timeoutMs))) == .timedOut {
            task.cancel()
            throw TransportError.Failed(kind: .readTimeout, detail: "no complete response within \(timeoutMs) ms")
        }
        return try box.get()
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
        return .Failed(kind: kind, detail: String(describing: type(of: error)) + " " + (error as NSError).domain + " \((error as NSError).code)")
    }
}

private final class ResultBox: @unchecked Sendable {
    private let lock = NSLock()
    private var result: Result<HttpResponse, TransportError> = .failure(.Failed(kind: .readTimeout, detail: "no response"))

    func set(_ r: Result<HttpResponse, TransportError>) {
        lock.lock()
        result = r
        lock.unlock()
    }

    func get() throws -> HttpResponse {
        lock.lock()
        defer { lock.unlock() }
        return try result.get()
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
