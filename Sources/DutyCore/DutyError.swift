/// The one error type of duty: a stable code, a message that says what to do next, and an optional cause.
public struct DutyError: Error, Sendable, CustomStringConvertible {
    /// Error classes. Each maps to exactly one process exit code, in `exitCode`.
    public enum Code: String, Sendable, CaseIterable {
        case failure
        case usage
        case invalidData = "invalid_data"
        case notFound = "not_found"
        case unavailable
        case permissionDenied = "permission_denied"

        /// The only place error classes become exit codes (SPEC "Exit codes").
        public var exitCode: Int32 {
            switch self {
            case .failure: 1
            case .usage: 64
            case .invalidData: 65
            case .notFound: 66
            case .unavailable: 69
            case .permissionDenied: 77
            }
        }
    }

    public var code: Code
    public var message: String
    /// Positioned diagnostics behind an `invalidData` error (all of them, not just the first).
    public var diagnostics: [Diagnostic]
    public var cause: String?

    public init(_ code: Code, _ message: String, diagnostics: [Diagnostic] = [], cause: String? = nil) {
        self.code = code
        self.message = message
        self.diagnostics = diagnostics
        self.cause = cause
    }

    public var description: String {
        if let cause { return "\(message) (\(cause))" }
        return message
    }

    /// An `invalidData` error carrying diagnostics; the message counts the errors.
    public static func invalid(_ diagnostics: [Diagnostic], what: String) -> DutyError {
        let errors = diagnostics.filter { $0.severity == .error }.count
        return DutyError(
            .invalidData, "\(what): \(errors) error\(errors == 1 ? "" : "s")", diagnostics: diagnostics)
    }
}

/// A position in a source file: 1-based line and column (columns count Unicode scalars).
public struct SourcePosition: Sendable, Hashable, Comparable {
    public var line: Int
    public var column: Int

    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }

    public static func < (a: SourcePosition, b: SourcePosition) -> Bool {
        (a.line, a.column) < (b.line, b.column)
    }
}

/// One message about a file: `FILE:LINE:COL: message`, or `FILE: key: message` when no position is known.
public struct Diagnostic: Sendable, Hashable, CustomStringConvertible {
    public enum Severity: String, Sendable { case error, warning }

    public var file: String
    public var position: SourcePosition?
    /// The key path the message is about, used when there is no position.
    public var key: String?
    public var severity: Severity
    public var message: String

    public init(
        file: String, position: SourcePosition?, key: String? = nil, severity: Severity = .error, message: String
    ) {
        self.file = file
        self.position = position
        self.key = key
        self.severity = severity
        self.message = message
    }

    public var description: String {
        let prefix = severity == .warning ? "warning: " : ""
        if let position {
            return "\(file):\(position.line):\(position.column): \(prefix)\(message)"
        }
        if let key {
            return "\(file): \(key): \(prefix)\(message)"
        }
        return "\(file): \(prefix)\(message)"
    }
}

extension [Diagnostic] {
    public var hasErrors: Bool { contains { $0.severity == .error } }

    /// Sorted by file, then position, for stable output.
    public func sortedForDisplay() -> [Diagnostic] {
        enumerated().sorted { a, b in
            if a.element.file != b.element.file { return a.element.file < b.element.file }
            let pa = a.element.position ?? SourcePosition(line: 0, column: 0)
            let pb = b.element.position ?? SourcePosition(line: 0, column: 0)
            if pa != pb { return pa < pb }
            return a.offset < b.offset
        }.map(\.element)
    }
}
