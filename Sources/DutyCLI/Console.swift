import DutyCore
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Where a command writes, and what it knows of the terminal and the environment. Tests capture it.
public struct Console: Sendable {
    public var writeOut: @Sendable (String) -> Void
    public var writeErr: @Sendable (String) -> Void
    /// Whether standard output is a terminal (tables are fitted and coloured only then).
    public var isTerminal: Bool
    /// Terminal width in columns; nil means do not truncate.
    public var width: Int?
    public var environment: [String: String]
    /// The clock, so tests can fix it.
    public var now: @Sendable () -> Date
    /// Writes out what `writeOut` holds back; the process calls it before it exits.
    public var flush: @Sendable () -> Void

    public init(
        writeOut: @escaping @Sendable (String) -> Void, writeErr: @escaping @Sendable (String) -> Void,
        isTerminal: Bool, width: Int?, environment: [String: String], now: @escaping @Sendable () -> Date,
        flush: @escaping @Sendable () -> Void = {}
    ) {
        self.writeOut = writeOut
        self.writeErr = writeErr
        self.isTerminal = isTerminal
        self.width = width
        self.environment = environment
        self.now = now
        self.flush = flush
    }

    /// The real process: stdout/stderr, the terminal's width, the environment and the system clock.
    public static func standard() -> Console {
        let tty = isatty(STDOUT_FILENO) == 1
        let env = ProcessInfo.processInfo.environment
        var width: Int?
        if tty {
            var ws = winsize()
            if ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &ws) == 0, ws.ws_col > 0 { width = Int(ws.ws_col) }
        }
        if let c = env["COLUMNS"].flatMap(Int.init), c > 0 { width = c }
        // A terminal sees each line as it comes; a pipe or file gets 64 KiB writes (a 100,000-line list was one
        // write(2) per line). Errors go out at once, after what standard output holds.
        let out = OutputBuffer(fd: STDOUT_FILENO, limit: tty ? 0 : 1 << 16)
        return Console(
            writeOut: { s in out.write(s) },
            writeErr: { s in
                out.flush()
                FileHandle.standardError.write(Data(s.utf8))
            },
            isTerminal: tty, width: width, environment: env, now: { Date() }, flush: { out.flush() })
    }

    public func out(_ line: String = "") { writeOut(line + "\n") }
    public func err(_ line: String) { writeErr(line + "\n") }

    /// Colour only on a terminal and when `NO_COLOR` is unset (no-color.org).
    public var useColour: Bool { isTerminal && (environment["NO_COLOR"] ?? "").isEmpty }
}

/// Bytes for a file descriptor, written once `limit` bytes are held (at once when 0) and on `flush`. Locked, as
/// the console is `Sendable`.
final class OutputBuffer: @unchecked Sendable {
    private let lock = NSLock()
    private var bytes: [UInt8] = []
    private let fd: Int32
    private let limit: Int

    init(fd: Int32, limit: Int) {
        self.fd = fd
        self.limit = limit
    }

    func write(_ s: String) {
        lock.lock()
        defer { lock.unlock() }
        bytes.append(contentsOf: s.utf8)
        if bytes.count >= limit { drain() }
    }

    func flush() {
        lock.lock()
        defer { lock.unlock() }
        drain()
    }

    /// Writes everything held; a reader that has gone (EPIPE) or a full disk drops the rest, as stdio would.
    private func drain() {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            offset += n
        }
        bytes.removeAll(keepingCapacity: true)
    }
}

/// Terminal colours for levels: the top rank of a policy red, the lowest green, those between amber.
enum LevelColour {
    static func paint(_ text: String, rank: Int, ranks: [Int], enabled: Bool) -> String {
        guard enabled, let top = ranks.max(), let bottom = ranks.min() else { return text }
        let code = rank >= top ? "31" : rank <= bottom ? "32" : "33"
        return "\u{1B}[\(code)m\(text)\u{1B}[0m"
    }
}
