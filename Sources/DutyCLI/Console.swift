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

    public init(
        writeOut: @escaping @Sendable (String) -> Void, writeErr: @escaping @Sendable (String) -> Void,
        isTerminal: Bool, width: Int?, environment: [String: String], now: @escaping @Sendable () -> Date
    ) {
        self.writeOut = writeOut
        self.writeErr = writeErr
        self.isTerminal = isTerminal
        self.width = width
        self.environment = environment
        self.now = now
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
        return Console(
            writeOut: { s in FileHandle.standardOutput.write(Data(s.utf8)) },
            writeErr: { s in FileHandle.standardError.write(Data(s.utf8)) },
            isTerminal: tty, width: width, environment: env, now: { Date() })
    }

    public func out(_ line: String = "") { writeOut(line + "\n") }
    public func err(_ line: String) { writeErr(line + "\n") }

    /// Colour only on a terminal and when `NO_COLOR` is unset (no-color.org).
    public var useColour: Bool { isTerminal && (environment["NO_COLOR"] ?? "").isEmpty }
}

/// Terminal colours for levels: the top rank of a policy red, the lowest green, those between amber.
enum LevelColour {
    static func paint(_ text: String, rank: Int, ranks: [Int], enabled: Bool) -> String {
        guard enabled, let top = ranks.max(), let bottom = ranks.min() else { return text }
        let code = rank >= top ? "31" : rank <= bottom ? "32" : "33"
        return "\u{1B}[\(code)m\(text)\u{1B}[0m"
    }
}
