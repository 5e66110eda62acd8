import DutyCore

/// A problem in a rule expression, at a byte offset into the expression's text.
public struct RuleError: Error, Sendable, Equatable {
    public var offset: Int
    public var message: String

    public init(offset: Int, message: String) {
        self.offset = offset
        self.message = message
    }
}

/// A token of the rule language, with its byte range in the expression.
struct Token: Equatable {
    enum Kind: Equatable {
        case number(Double)
        case string(String)
        case duration(Duration)
        case name(String)
        case kwAnd, kwOr, kwNot, kwIn, kwTrue, kwFalse
        case eq, ne, lt, le, gt, ge
        case lparen, rparen, lbracket, rbracket, comma, plus, minus, star, slash
        case end
    }

    var kind: Kind
    var start: Int
    var end: Int
    /// The source text of the token, for messages.
    var text: String
}

/// Splits an expression into tokens. Names may be dotted (`facts.age`, `worker.load`).
struct Lexer {
    private let bytes: [UInt8]
    private var i = 0

    init(_ text: String) { bytes = Array(text.utf8) }

    static func tokenize(_ text: String) throws(RuleError) -> [Token] {
        var lexer = Lexer(text)
        var out: [Token] = []
        while true {
            let t = try lexer.next()
            out.append(t)
            if t.kind == .end { return out }
        }
    }

    private func text(_ start: Int, _ end: Int) -> String { String(decoding: bytes[start..<end], as: UTF8.self) }

    private static func isNameStart(_ b: UInt8) -> Bool {
        (b >= 97 && b <= 122) || (b >= 65 && b <= 90) || b == 95
    }

    private static func isNameByte(_ b: UInt8) -> Bool { isNameStart(b) || (b >= 48 && b <= 57) }

    private static func isDigit(_ b: UInt8) -> Bool { b >= 48 && b <= 57 }

    mutating func next() throws(RuleError) -> Token {
        while i < bytes.count, bytes[i] == 32 || bytes[i] == 9 || bytes[i] == 10 || bytes[i] == 13 { i += 1 }
        let start = i
        guard i < bytes.count else { return Token(kind: .end, start: i, end: i, text: "") }
        let b = bytes[i]
        func single(_ k: Token.Kind, _ n: Int = 1) -> Token {
            i += n
            return Token(kind: k, start: start, end: i, text: text(start, i))
        }
        let next: UInt8 = i + 1 < bytes.count ? bytes[i + 1] : 0
        switch b {
        case UInt8(ascii: "("): return single(.lparen)
        case UInt8(ascii: ")"): return single(.rparen)
        case UInt8(ascii: "["): return single(.lbracket)
        case UInt8(ascii: "]"): return single(.rbracket)
        case UInt8(ascii: ","): return single(.comma)
        case UInt8(ascii: "-"): return single(.minus)
        case UInt8(ascii: "+"): return single(.plus)
        case UInt8(ascii: "*"): return single(.star)
        case UInt8(ascii: "/"): return single(.slash)
        case UInt8(ascii: "="):
            if next == UInt8(ascii: "=") { return single(.eq, 2) }
            throw RuleError(offset: start, message: "'=' is not an operator: use '==' to compare")
        case UInt8(ascii: "!"):
            if next == UInt8(ascii: "=") { return single(.ne, 2) }
            throw RuleError(offset: start, message: "'!' is not an operator: use 'not'")
        case UInt8(ascii: "<"):
            if next == UInt8(ascii: "=") { return single(.le, 2) }
            if next == UInt8(ascii: ">") {
                throw RuleError(offset: start, message: "'<>' is not an operator: use '!='")
            }
            return single(.lt)
        case UInt8(ascii: ">"):
            return next == UInt8(ascii: "=") ? single(.ge, 2) : single(.gt)
        case UInt8(ascii: "&"):
            throw RuleError(offset: start, message: "'&' is not an operator: use 'and'")
        case UInt8(ascii: "|"):
            throw RuleError(offset: start, message: "'|' is not an operator: use 'or'")
        case UInt8(ascii: "'"), UInt8(ascii: "\""):
            return try string(quote: b)
        case _ where Self.isDigit(b) || (b == UInt8(ascii: ".") && Self.isDigit(next)):
            return try number()
        case _ where Self.isNameStart(b):
            return try name()
        default:
            let scalar = text(start, min(bytes.count, start + max(1, utf8Length(b))))
            throw RuleError(offset: start, message: "unexpected character '\(scalar)'")
        }
    }

    private func utf8Length(_ b: UInt8) -> Int {
        if b < 0x80 { return 1 }
        if b >> 5 == 0b110 { return 2 }
        if b >> 4 == 0b1110 { return 3 }
        return 4
    }

    private mutating func string(quote: UInt8) throws(RuleError) -> Token {
        let start = i
        i += 1
        var out: [UInt8] = []
        while i < bytes.count {
            let b = bytes[i]
            if b == quote {
                i += 1
                return Token(
                    kind: .string(String(decoding: out, as: UTF8.self)), start: start, end: i, text: text(start, i))
            }
            if b == UInt8(ascii: "\\"), i + 1 < bytes.count {
                out.append(bytes[i + 1])
                i += 2
                continue
            }
            out.append(b)
            i += 1
        }
        throw RuleError(offset: start, message: "unterminated string: add the closing \(quote == 39 ? "'" : "\"")")
    }

    private mutating func number() throws(RuleError) -> Token {
        let start = i
        var sawDot = false
        while i < bytes.count, Self.isDigit(bytes[i]) || (bytes[i] == UInt8(ascii: ".") && !sawDot) {
            if bytes[i] == UInt8(ascii: ".") { sawDot = true }
            i += 1
        }
        let digits = text(start, i)
        if i < bytes.count, Self.isNameStart(bytes[i]) {
            let unitStart = i
            while i < bytes.count, Self.isNameByte(bytes[i]) { i += 1 }
            let word = text(start, i)
            if let d = Duration(parsing: word) {
                return Token(kind: .duration(d), start: start, end: i, text: word)
            }
            if sawDot, unitStart == i - 1, Duration.Unit(rawValue: Character(UnicodeScalar(bytes[unitStart]))) != nil {
                throw RuleError(
                    offset: start, message: "duration '\(word)' must be a whole number: write \"36h\", not \"1.5d\"")
            }
            throw RuleError(
                offset: unitStart, message: "invalid duration '\(word)': the unit must be one of s, m, h, d, w")
        }
        guard let value = Double(digits.hasSuffix(".") ? digits + "0" : digits) else {
            throw RuleError(offset: start, message: "invalid number '\(digits)'")
        }
        return Token(kind: .number(value), start: start, end: i, text: digits)
    }

    private mutating func name() throws(RuleError) -> Token {
        let start = i
        while i < bytes.count {
            if Self.isNameByte(bytes[i]) {
                i += 1
            } else if bytes[i] == UInt8(ascii: "."), i + 1 < bytes.count, Self.isNameStart(bytes[i + 1]) {
                i += 1
            } else if bytes[i] == UInt8(ascii: ".") {
                throw RuleError(offset: i + 1, message: "expected a name after '.'")
            } else {
                break
            }
        }
        let word = text(start, i)
        let kind: Token.Kind =
            switch word {
            case "and": .kwAnd
            case "or": .kwOr
            case "not": .kwNot
            case "in": .kwIn
            case "true": .kwTrue
            case "false": .kwFalse
            case "AND", "OR", "NOT", "IN", "True", "False", "TRUE", "FALSE":
                throw RuleError(offset: start, message: "keywords are lower-case: write '\(word.lowercased())'")
            default: .name(word)
            }
        return Token(kind: kind, start: start, end: i, text: word)
    }
}
