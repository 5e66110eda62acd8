import DutyCore
import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// One HTTP exchange with the case system, synchronous, bounded by a timeout from connection to last byte
/// (FoundationNetworking's URLSession, which ships with the Swift toolchain). Errors name the URL and the cause,
/// never the token.
enum HTTP {
    struct Response {
        var status: Int
        var body: Data
    }

    /// The largest body read: a page or an answer larger than this is refused.
    static let maxBody = 64 << 20

    static func request(
        _ url: URL, method: String = "GET", body: Data? = nil, contentType: String? = nil, token: String?,
        timeout: Double
    ) throws(DutyError) -> Response {
        var request = URLRequest(url: url, cachePolicy: .reloadIgnoringLocalCacheData, timeoutInterval: timeout)
        request.httpMethod = method
        request.httpBody = body
        request.setValue("application/json", forHTTPHeaderField: "Accept")
        if let contentType { request.setValue(contentType, forHTTPHeaderField: "Content-Type") }
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeout
        configuration.timeoutIntervalForResource = timeout
        configuration.httpShouldSetCookies = false
        let session = URLSession(configuration: configuration)
        defer { session.finishTasksAndInvalidate() }
        final class Box: @unchecked Sendable {
            var data: Data?
            var response: URLResponse?
            var error: Error?
        }
        let box = Box()
        let done = DispatchSemaphore(value: 0)
        let task = session.dataTask(with: request) { data, response, error in
            box.data = data
            box.response = response
            box.error = error
            done.signal()
        }
        task.resume()
        // URLSession's own timeout, and a deadline of ours in case it does not fire.
        if done.wait(timeout: .now() + timeout + 5) == .timedOut {
            task.cancel()
            throw DutyError(.unavailable, "\(shown(url)): no answer within \(Int(timeout)) s")
        }
        if let error = box.error {
            let message =
                (error as NSError).code == NSURLErrorTimedOut
                ? "no answer within \(Int(timeout)) s" : error.localizedDescription
            throw DutyError(.unavailable, "\(shown(url)): \(message)")
        }
        guard let http = box.response as? HTTPURLResponse else {
            throw DutyError(.unavailable, "\(shown(url)): no HTTP response")
        }
        let data = box.data ?? Data()
        guard data.count <= maxBody else {
            throw DutyError(.invalidData, "\(shown(url)): the answer is larger than \(maxBody >> 20) MiB")
        }
        return Response(status: http.statusCode, body: data)
    }

    /// The URL as logs show it: scheme, host, port and path (a query may carry a cursor, never a secret, but a
    /// user and password in the URL would be one).
    static func shown(_ url: URL) -> String {
        var c = URLComponents(url: url, resolvingAgainstBaseURL: false)
        c?.user = nil
        c?.password = nil
        return c?.string ?? url.path
    }

    /// "HTTP 500: {"error":"the case system is down"}", the body cut to 200 characters and escaped.
    static func describe(_ r: Response) -> String {
        let text = String(decoding: r.body.prefix(200), as: UTF8.self)
        return "HTTP \(r.status)" + (text.isEmpty ? "" : ": " + ReferralDecoder.escapingControlCharacters(text))
    }
}
