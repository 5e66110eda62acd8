import DutyCore
import Foundation

/// Log lines for people: one line per event worth a human's attention, on stderr. Under systemd
/// (`JOURNAL_STREAM` set) each line starts with a syslog priority, `<3>` error to `<7>` debug, which journald
/// reads as the line's priority.
public struct Logger: Sendable {
    public enum Level: Int, Sendable {
        case error = 3, warning = 4, notice = 5, info = 6, debug = 7

        var word: String {
            switch self {
            case .error: "error"
            case .warning: "warning"
            case .notice: "notice"
            case .info: "info"
            case .debug: "debug"
            }
        }
    }

    let journal: Bool
    let write: @Sendable (String) -> Void

    public init(environment: [String: String], write: @escaping @Sendable (String) -> Void = Logger.stderr) {
        journal = environment["JOURNAL_STREAM"] != nil
        self.write = write
    }

    public static let stderr: @Sendable (String) -> Void = { FileHandle.standardError.write(Data($0.utf8)) }

    public func log(_ level: Level, _ message: String) {
        // One message may span lines (each gets the prefix); any other control character (a carriage return, an
        // escape sequence from a file name) is escaped, so nothing can forge or rewrite a log line.
        for raw in message.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = ReferralDecoder.escapingControlCharacters(String(raw))
            write(
                journal ? "<\(level.rawValue)>\(line)\n" : "dutyd: \(level == .info ? "" : level.word + ": ")\(line)\n")
        }
    }

    public func error(_ m: String) { log(.error, m) }
    public func warning(_ m: String) { log(.warning, m) }
    public func notice(_ m: String) { log(.notice, m) }
    public func info(_ m: String) { log(.info, m) }
}
