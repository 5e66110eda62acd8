import DutyCore
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The control socket's protocol: one request and one response per connection, each a single line of JSON
/// (`\n`-terminated) carrying the protocol version `v`. Requests are decoded strictly: unknown fields, wrong
/// types and oversized messages are errors.
public enum ControlProtocol {
    public static let version = 1
    /// The largest message either side accepts, in bytes.
    public static let maxMessage = 64 * 1024
}

/// A request to `dutyd`. The caller is not part of it: the daemon learns who is calling from the socket.
public struct ControlRequest: Sendable, Equatable {
    public enum Operation: String, Sendable, CaseIterable {
        case status, cycle, reload, assign, unassign, rerate, ack, reviewed
        case absenceAdd = "absence.add"
        case absenceEnd = "absence.end"
    }

    public var op: Operation
    public var referral: String?
    public var worker: String?
    public var level: String?
    public var reason: String?
    public var note: String?
    public var absence: String?
    /// ISO 8601 times (absence add).
    public var from: String?
    public var to: String?
    /// `rerate --clear`.
    public var clear: Bool
    /// Chosen by the client for a write: a request dutyd has answered already is answered again, not done twice
    /// (a retry after a timeout, with `DUTY_REQUEST_ID`).
    public var requestID: String?

    public init(
        op: Operation, referral: String? = nil, worker: String? = nil, level: String? = nil, reason: String? = nil,
        note: String? = nil, absence: String? = nil, from: String? = nil, to: String? = nil, clear: Bool = false,
        requestID: String? = nil
    ) {
        self.requestID = requestID
        self.op = op
        self.referral = referral
        self.worker = worker
        self.level = level
        self.reason = reason
        self.note = note
        self.absence = absence
        self.from = from
        self.to = to
        self.clear = clear
    }

    static let stringFields = ["referral", "worker", "level", "reason", "note", "absence", "from", "to", "request_id"]

    public var json: JSONValue {
        var members: [(String, JSONValue)] = [
            ("v", .int(Int64(ControlProtocol.version))), ("op", .string(op.rawValue)),
        ]
        for (key, value) in [
            ("referral", referral), ("worker", worker), ("level", level), ("reason", reason), ("note", note),
            ("absence", absence), ("from", from), ("to", to), ("request_id", requestID),
        ] {
            if let value { members.append((key, .string(value))) }
        }
        if clear { members.append(("clear", .bool(true))) }
        return .object(members)
    }

    /// Decodes one request line; throws a `usage` error saying what is wrong.
    public static func decode(_ line: [UInt8]) throws(DutyError) -> ControlRequest {
        guard line.count <= ControlProtocol.maxMessage else {
            throw DutyError(.usage, "request larger than \(ControlProtocol.maxMessage) bytes")
        }
        let node: JSONNode
        do {
            node = try JSON5Parser.parse(bytes: line, recordStringPositions: false)
        } catch {
            throw DutyError(.usage, "request is not valid JSON: \(error.message)")
        }
        guard case .object(let members) = node.value else { throw DutyError(.usage, "request must be a JSON object") }
        var strings: [String: String] = [:]
        var version: Int64?
        var op: Operation?
        var clear = false
        for m in members {
            switch (m.key, m.value.value) {
            case ("v", .number(_, let i?)): version = i
            case ("op", .string(let s)):
                guard let o = Operation(rawValue: s) else { throw DutyError(.usage, "unknown operation '\(s)'") }
                op = o
            case ("clear", .bool(let b)): clear = b
            case (let k, .string(let s)) where stringFields.contains(k):
                guard s.utf8.count <= 4_096 else { throw DutyError(.usage, "'\(k)' is too long") }
                strings[k] = s
            default: throw DutyError(.usage, "unexpected field '\(m.key)' or wrong type")
            }
        }
        guard version == Int64(ControlProtocol.version) else {
            throw DutyError(
                .usage,
                "unsupported protocol version \(version.map(String.init) ?? "(none)"); this dutyd speaks \(ControlProtocol.version)"
            )
        }
        guard let op else { throw DutyError(.usage, "request has no 'op'") }
        return ControlRequest(
            op: op, referral: strings["referral"], worker: strings["worker"], level: strings["level"],
            reason: strings["reason"], note: strings["note"], absence: strings["absence"], from: strings["from"],
            to: strings["to"], clear: clear, requestID: strings["request_id"])
    }
}

/// The daemon's answer: `ok` with a message and optional result, or an error with a stable code.
public struct ControlResponse: Sendable, Equatable {
    public var ok: Bool
    /// A `DutyError.Code` raw value when not ok.
    public var code: String?
    public var message: String
    public var result: JSONValue?

    public init(ok: Bool, code: String? = nil, message: String, result: JSONValue? = nil) {
        self.ok = ok
        self.code = code
        self.message = message
        self.result = result
    }

    public static func failure(_ error: DutyError) -> ControlResponse {
        ControlResponse(ok: false, code: error.code.rawValue, message: error.message)
    }

    public var json: JSONValue {
        .object([
            ("v", .int(Int64(ControlProtocol.version))), ("ok", .bool(ok)), ("code", .string(code)),
            ("message", .string(message)), ("result", result ?? .null),
        ])
    }

    public static func decode(_ line: [UInt8]) throws(DutyError) -> ControlResponse {
        guard let node = try? JSON5Parser.parse(bytes: line, recordStringPositions: false) else {
            throw DutyError(.failure, "dutyd sent a response that is not JSON")
        }
        let v = JSONValue(node)
        guard v["v"]?.intValue == Int64(ControlProtocol.version), let ok = v["ok"]?.boolValue else {
            throw DutyError(.failure, "dutyd speaks another protocol version: upgrade duty and dutyd together")
        }
        return ControlResponse(
            ok: ok, code: v["code"]?.stringValue, message: v["message"]?.stringValue ?? "",
            result: v["result"].flatMap { $0.isNull ? nil : $0 })
    }

    /// The error this response stands for, when it is not ok.
    public var error: DutyError? {
        guard !ok else { return nil }
        return DutyError(code.flatMap(DutyError.Code.init(rawValue:)) ?? .failure, message)
    }
}

/// The client side: one connection per request.
public enum ControlClient {
    /// Sends a request to the daemon at `socketPath` and waits (up to `timeout` seconds) for its answer.
    public static func send(_ request: ControlRequest, socketPath: String, timeout: Double = 60) throws(DutyError)
        -> ControlResponse
    {
        let unavailable = DutyError(.unavailable, "dutyd is not running (systemctl start dutyd?)", cause: socketPath)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw unavailable }
        defer { close(fd) }
        var tv = timeval(tv_sec: Int(timeout), tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        guard var address = UnixAddress(socketPath) else {
            throw DutyError(.usage, "socket path too long: \(socketPath)")
        }
        // Connecting is bounded (5 s): a daemon that is stopped or swamped leaves callers in connect() otherwise.
        // Nothing has been sent if it fails, so the command has not happened.
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        let connectDeadline = Date().addingTimeInterval(min(5, timeout))
        while true {
            if address.withSockaddr({ connect(fd, $0, $1) }) == 0 || errno == EISCONN { break }
            if errno == EACCES {
                throw DutyError(
                    .permissionDenied,
                    "you may not connect to dutyd's socket \(socketPath): ask to join its socket_group")
            }
            guard errno == EAGAIN || errno == EINPROGRESS || errno == EALREADY || errno == EINTR,
                Date() < connectDeadline
            else {
                if errno == EAGAIN || errno == EINPROGRESS || errno == EALREADY {
                    throw DutyError(
                        .unavailable,
                        "dutyd did not take the connection within 5 s (busy or stopped): nothing was sent; try again")
                }
                throw unavailable
            }
            var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            _ = poll(&p, 1, 100)
        }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
        let bytes = Array((request.json.serialized() + "\n").utf8)
        var sent = 0
        // MSG_NOSIGNAL: a daemon that refuses the connection must not kill the caller with SIGPIPE. A failed send
        // goes on to read, since dutyd may have answered (e.g. too many connections) before closing.
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { break }
            sent += n
        }
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 8_192)
        while !response.contains(0x0A) {
            let n = read(fd, &buffer, buffer.count)
            guard n > 0 else {
                // Sent, but no answer: dutyd may be stopped mid-way (SIGSTOP) and still act when it resumes.
                throw DutyError(
                    .unavailable,
                    n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)
                        ? "dutyd did not answer within \(Int(timeout)) s: the command may still happen; check (duty status, duty absence list, duty show) before trying again"
                        : "dutyd closed the connection without answering: the command may or may not have happened; check before trying again"
                )
            }
            response.append(contentsOf: buffer[0..<n])
            guard response.count <= ControlProtocol.maxMessage * 16 else {
                throw DutyError(.failure, "dutyd's answer is too large")
            }
        }
        return try ControlResponse.decode(Array(response.prefix { $0 != 0x0A }))
    }
}

/// A `sockaddr_un` for a path (or an abstract name starting `@`).
public struct UnixAddress {
    var address = sockaddr_un()
    var length: socklen_t

    public init?(_ path: String) {
        var bytes = Array(path.utf8)
        if bytes.first == UInt8(ascii: "@") { bytes[0] = 0 }
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return nil }
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
        }
        length = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count + (bytes.first == 0 ? 0 : 1))
    }

    public mutating func withSockaddr<T>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> T) -> T {
        let length = self.length
        return withUnsafePointer(to: &address) { ptr in
            ptr.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, length) }
        }
    }
}
