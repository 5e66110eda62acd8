/// Collects diagnostics for one file while its JSON5 tree is decoded.
public final class DiagnosticSink {
    public let file: String
    public private(set) var diagnostics: [Diagnostic] = []

    public init(file: String) { self.file = file }

    public func error(_ position: SourcePosition?, _ message: String, key: String? = nil) {
        diagnostics.append(Diagnostic(file: file, position: position, key: key, message: message))
    }

    public func warning(_ position: SourcePosition?, _ message: String, key: String? = nil) {
        diagnostics.append(Diagnostic(file: file, position: position, key: key, severity: .warning, message: message))
    }

    public func append(_ diagnostic: Diagnostic) { diagnostics.append(diagnostic) }

    public var hasErrors: Bool { diagnostics.hasErrors }
}

/// Reads the members of one JSON5 object by name, reporting wrong types, missing required keys and
/// (in `finish`) unknown keys with a "did you mean" suggestion.
public final class ObjectFields {
    public let node: JSONNode
    public let what: String
    private let sink: DiagnosticSink
    private var members: [String: JSONMember] = [:]
    private var order: [String] = []
    private var used: Set<String> = []

    /// Nil (with a diagnostic) when `node` is not an object.
    public init?(_ node: JSONNode, what: String, sink: DiagnosticSink) {
        guard case .object(let list) = node.value else {
            sink.error(node.position, "\(what) must be an object, not \(node.typeName)")
            return nil
        }
        self.node = node
        self.what = what
        self.sink = sink
        for m in list {
            if members[m.key] != nil {
                sink.error(m.keyPosition, "duplicate key '\(m.key)' in \(what)")
                continue
            }
            members[m.key] = m
            order.append(m.key)
        }
    }

    public func has(_ key: String) -> Bool { members[key] != nil }

    /// The raw member, marking it used.
    public func member(_ key: String, required: Bool = false) -> JSONMember? {
        used.insert(key)
        guard let m = members[key] else {
            if required { sink.error(node.position, "\(what) is missing required key '\(key)'") }
            return nil
        }
        return m
    }

    public func node(_ key: String, required: Bool = false) -> JSONNode? { member(key, required: required)?.value }

    public func string(_ key: String, required: Bool = false) -> String? {
        guard let n = node(key, required: required) else { return nil }
        guard case .string(let s) = n.value else {
            if case .null = n.value, !required { return nil }
            sink.error(n.position, "'\(key)' in \(what) must be a string, not \(n.typeName)")
            return nil
        }
        return s
    }

    public func bool(_ key: String, required: Bool = false) -> Bool? {
        guard let n = node(key, required: required) else { return nil }
        guard case .bool(let b) = n.value else {
            sink.error(n.position, "'\(key)' in \(what) must be true or false, not \(n.typeName)")
            return nil
        }
        return b
    }

    public func number(_ key: String, required: Bool = false) -> Double? {
        guard let n = node(key, required: required) else { return nil }
        guard case .number(let d, _) = n.value, d.isFinite else {
            sink.error(n.position, "'\(key)' in \(what) must be a finite number, not \(n.typeName)")
            return nil
        }
        return d
    }

    public func integer(_ key: String, required: Bool = false, in range: ClosedRange<Int>? = nil) -> Int? {
        guard let n = node(key, required: required) else { return nil }
        guard case .number(_, let i?) = n.value, let v = Int(exactly: i) else {
            sink.error(n.position, "'\(key)' in \(what) must be a whole number, not \(n.typeName)")
            return nil
        }
        if let range, !range.contains(v) {
            sink.error(n.position, "'\(key)' in \(what) must be between \(range.lowerBound) and \(range.upperBound)")
            return nil
        }
        return v
    }

    public func duration(_ key: String, required: Bool = false) -> Duration? {
        guard let n = node(key, required: required) else { return nil }
        return NodeDecoding.duration(n, sink: sink, what: "'\(key)' in \(what)")
    }

    public func strings(_ key: String, required: Bool = false) -> [String]? {
        guard let n = node(key, required: required) else { return nil }
        return NodeDecoding.strings(n, sink: sink, what: "'\(key)' in \(what)")
    }

    /// Reports every key that was never asked for.
    public func finish() {
        let known = Array(used).sorted()
        for key in order where !used.contains(key) {
            let m = members[key]!
            var message = "unknown key '\(key)' in \(what)"
            if let guess = closestMatch(key, in: known) { message += "; did you mean '\(guess)'?" }
            sink.error(m.keyPosition, message)
        }
    }
}

/// Decoders for single values shared by every file format.
public enum NodeDecoding {
    public static func string(_ node: JSONNode, sink: DiagnosticSink, what: String) -> String? {
        guard case .string(let s) = node.value else {
            sink.error(node.position, "\(what) must be a string, not \(node.typeName)")
            return nil
        }
        return s
    }

    public static func duration(_ node: JSONNode, sink: DiagnosticSink, what: String) -> Duration? {
        guard case .string(let s) = node.value else {
            sink.error(node.position, "\(what) must be a duration string like \"28d\", not \(node.typeName)")
            return nil
        }
        guard let d = Duration(parsing: s) else {
            sink.error(node.position, "\(what): \(Duration.parseError(s))")
            return nil
        }
        return d
    }

    public static func strings(_ node: JSONNode, sink: DiagnosticSink, what: String) -> [String]? {
        guard case .array(let items) = node.value else {
            sink.error(node.position, "\(what) must be a list of strings, not \(node.typeName)")
            return nil
        }
        var out: [String] = []
        for item in items {
            guard case .string(let s) = item.value else {
                sink.error(item.position, "\(what) must hold only strings, not \(item.typeName)")
                continue
            }
            out.append(s)
        }
        return out
    }

    /// Parses a file's text, turning a syntax error into a diagnostic.
    public static func parse(_ text: String, sink: DiagnosticSink) -> JSONNode? {
        do {
            return try JSON5Parser.parse(text)
        } catch {
            sink.error(error.position, error.message)
            return nil
        }
    }
}

/// The candidate nearest to `word` by edit distance, if it is near enough to be a likely typo.
public func closestMatch(_ word: String, in candidates: [String]) -> String? {
    var best: (String, Int)?
    for c in candidates {
        let d = editDistance(word.lowercased(), c.lowercased())
        if best == nil || d < best!.1 { best = (c, d) }
    }
    guard let (c, d) = best else { return nil }
    let limit = max(1, min(word.count, c.count) / 3)
    return d <= limit ? c : nil
}

/// Levenshtein distance over Characters.
public func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a)
    let b = Array(b)
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var prev = Array(0...b.count)
    var cur = [Int](repeating: 0, count: b.count + 1)
    for i in 1...a.count {
        cur[0] = i
        for j in 1...b.count {
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        swap(&prev, &cur)
    }
    return prev[b.count]
}
