/// A JSON5 value with the position where it starts in its file.
///
/// Foundation's JSON5 decoder gives no positions, and duty's diagnostics must point into the file (a syntax error
/// inside a rule's `when` string is reported at the offending character), so duty reads JSON5 itself.
public struct JSONNode: Sendable {
    public enum Value: Sendable {
        case null
        case bool(Bool)
        /// A number; `integer` is set when the literal had no fraction or exponent and fits in 64 bits.
        case number(Double, integer: Int64?)
        case string(String)
        case array([JSONNode])
        case object([JSONMember])
    }

    public var value: Value
    public var position: SourcePosition
    /// For strings read with positions: the source position of each UTF-8 byte of the decoded string,
    /// and one more for the position just after it.
    public var stringPositions: [SourcePosition]?

    public init(_ value: Value, at position: SourcePosition, stringPositions: [SourcePosition]? = nil) {
        self.value = value
        self.position = position
        self.stringPositions = stringPositions
    }

    /// Where byte `offset` of this string's decoded UTF-8 came from (the string's start when unknown).
    public func position(ofByte offset: Int) -> SourcePosition {
        guard let map = stringPositions, !map.isEmpty else { return position }
        return map[min(max(offset, 0), map.count - 1)]
    }

    public var typeName: String {
        switch value {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "a list"
        case .object: "an object"
        }
    }
}

public struct JSONMember: Sendable {
    public var key: String
    public var keyPosition: SourcePosition
    public var value: JSONNode
}

public struct JSONParseError: Error, Sendable {
    public var position: SourcePosition
    public var message: String
}

/// A position-aware JSON5 reader over UTF-8 bytes. Also reads plain JSON (a subset).
///
/// It follows the JSON5 specification (https://spec.json5.org/) as checked by the `json5/json5-tests` suite:
/// comments, trailing commas, unquoted keys (ECMAScript 5.1 identifier names, `\u` escapes included), single
/// quoted strings with line continuations, and hexadecimal, signed, `Infinity` and `NaN` numbers, but no octal.
/// Lines are counted at LF only (as the reference implementation does), so CRLF files count right; columns count
/// characters (Unicode scalars), from 1.
public struct JSON5Parser {
    let bytes: [UInt8]
    var index = 0
    var line = 1
    var column = 1
    let recordStringPositions: Bool
    var depth = 0
    static let maxDepth = 200

    /// A reader over `text`; `recordStringPositions` keeps a source position for every byte of every string.
    public init(_ text: String, recordStringPositions: Bool = true) {
        self.init(bytes: Array(text.utf8), recordStringPositions: recordStringPositions)
    }

    /// A reader over UTF-8 `bytes`; `recordStringPositions` keeps a source position for every byte of every string.
    public init(bytes: [UInt8], recordStringPositions: Bool = true) {
        self.bytes = bytes
        self.recordStringPositions = recordStringPositions
        // A UTF-8 byte order mark is allowed and skipped.
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { index = 3 }
    }

    /// Parses exactly one value, with only whitespace and comments around it.
    public static func parse(_ text: String, recordStringPositions: Bool = true) throws(JSONParseError) -> JSONNode {
        var parser = JSON5Parser(text, recordStringPositions: recordStringPositions)
        return try parser.parseDocument()
    }

    /// Parses exactly one value from UTF-8 `bytes`, with only whitespace and comments around it.
    public static func parse(bytes: [UInt8], recordStringPositions: Bool = true) throws(JSONParseError) -> JSONNode {
        var parser = JSON5Parser(bytes: bytes, recordStringPositions: recordStringPositions)
        return try parser.parseDocument()
    }

    /// Parses the whole input as one value, with only whitespace and comments around it.
    public mutating func parseDocument() throws(JSONParseError) -> JSONNode {
        try skipSpace()
        guard index < bytes.count else { throw fail("empty document: expected a value") }
        let node = try parseValue()
        try skipSpace()
        if index < bytes.count { throw fail("unexpected \(describeCurrent()) after the value") }
        return node
    }

    var here: SourcePosition { SourcePosition(line: line, column: column) }

    func fail(_ message: String) -> JSONParseError { JSONParseError(position: here, message: message) }

    func describeCurrent() -> String {
        guard index < bytes.count else { return "end of file" }
        let b = bytes[index]
        if b >= 0x21 && b < 0x7F { return "'\(Character(UnicodeScalar(b)))'" }
        if b == 0x0A || b == 0x0D { return "end of line" }
        if let (scalar, _) = scalarAhead(at: index), scalar.value >= 0x80 {
            return "'\(Character(scalar))' (U+\(String(scalar.value, radix: 16, uppercase: true)))"
        }
        return "byte 0x\(String(b, radix: 16))"
    }

    /// Moves past one byte. A new line starts after LF only; a column is a character, so UTF-8 continuation bytes
    /// do not count.
    mutating func advance() {
        let b = bytes[index]
        index += 1
        if b == 0x0A {
            line += 1
            column = 1
        } else if b & 0xC0 != 0x80 {
            column += 1
        }
    }

    mutating func consume(_ n: Int) { for _ in 0..<n { advance() } }

    // MARK: Characters

    /// The Unicode scalar whose UTF-8 encoding starts at `p`, and its length in bytes; nil for invalid UTF-8.
    func scalarAhead(at p: Int) -> (Unicode.Scalar, Int)? {
        guard p < bytes.count else { return nil }
        let b0 = bytes[p]
        if b0 < 0x80 { return (Unicode.Scalar(b0), 1) }
        let length: Int
        let minimum: UInt32
        var value: UInt32
        switch b0 {
        case 0xC2...0xDF: (length, minimum, value) = (2, 0x80, UInt32(b0 & 0x1F))
        case 0xE0...0xEF: (length, minimum, value) = (3, 0x800, UInt32(b0 & 0x0F))
        case 0xF0...0xF4: (length, minimum, value) = (4, 0x10000, UInt32(b0 & 0x07))
        default: return nil
        }
        guard p + length <= bytes.count else { return nil }
        for i in 1..<length {
            let c = bytes[p + i]
            guard c & 0xC0 == 0x80 else { return nil }
            value = value << 6 | UInt32(c & 0x3F)
        }
        guard value >= minimum, let scalar = Unicode.Scalar(value) else { return nil }
        return (scalar, length)
    }

    /// JSON5 white space: the ASCII spaces and line terminators, U+00A0, U+FEFF, U+2028, U+2029 and every other
    /// space separator (Unicode category Zs).
    static func isSpace(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x20, 0xA0, 0xFEFF, 0x2028, 0x2029: true
        case 0..<0x80: false
        default: scalar.properties.generalCategory == .spaceSeparator
        }
    }

    /// Whether `bytes[p...]` starts with U+2028 or U+2029, the line terminators beyond ASCII.
    func isUnicodeLineBreak(at p: Int) -> Bool {
        p + 2 < bytes.count && bytes[p] == 0xE2 && bytes[p + 1] == 0x80
            && (bytes[p + 2] == 0xA8 || bytes[p + 2] == 0xA9)
    }

    mutating func skipSpace() throws(JSONParseError) {
        while index < bytes.count {
            let b = bytes[index]
            switch b {
            case 0x20, 0x09, 0x0A, 0x0D, 0x0B, 0x0C: advance()
            case 0x2F:  // '/'
                guard index + 1 < bytes.count else { throw fail("unexpected '/'") }
                if bytes[index + 1] == 0x2F {
                    // A line comment runs to the next line terminator: LF, CR, U+2028 or U+2029.
                    while index < bytes.count && bytes[index] != 0x0A && bytes[index] != 0x0D
                        && !isUnicodeLineBreak(at: index)
                    {
                        advance()
                    }
                } else if bytes[index + 1] == 0x2A {
                    let start = here
                    advance()
                    advance()
                    var closed = false
                    while index < bytes.count {
                        if bytes[index] == 0x2A && index + 1 < bytes.count && bytes[index + 1] == 0x2F {
                            advance()
                            advance()
                            closed = true
                            break
                        }
                        advance()
                    }
                    if !closed { throw JSONParseError(position: start, message: "unterminated /* comment") }
                } else {
                    throw fail("unexpected '/': comments start with // or /*")
                }
            case 0x80...:
                guard let (scalar, length) = scalarAhead(at: index), Self.isSpace(scalar) else { return }
                consume(length)
            default: return
            }
        }
    }

    // MARK: Identifiers

    /// Whether `scalar` may start (`first`) or continue an ECMAScript 5.1 identifier name: a letter, `$` or `_`,
    /// then also digits, combining marks, connector punctuation, ZWNJ and ZWJ.
    static func isIdentifierScalar(_ scalar: Unicode.Scalar, first: Bool) -> Bool {
        switch scalar.value {
        case 0x61...0x7A, 0x41...0x5A, 0x24, 0x5F: return true  // a-z A-Z $ _
        case 0x30...0x39: return !first  // 0-9
        case 0..<0x80: return false
        case 0x200C, 0x200D: return !first
        default: break
        }
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter, .letterNumber:
            return true
        case .nonspacingMark, .spacingMark, .decimalNumber, .connectorPunctuation: return !first
        default: return false
        }
    }

    /// The length in bytes of the identifier character (raw or `\u` escaped) at `p` and its scalar, or nil when
    /// none starts there. A byte that is not valid UTF-8 counts as one character of its own, decoded as U+FFFD.
    func identifierCharacter(at p: Int, first: Bool) -> (scalar: Unicode.Scalar, length: Int)? {
        guard p < bytes.count else { return nil }
        let b = bytes[p]
        if b == UInt8(ascii: "\\") {
            guard p + 5 < bytes.count, bytes[p + 1] == UInt8(ascii: "u") else { return nil }
            var value: UInt32 = 0
            for i in 2..<6 {
                guard let d = Self.hexValue(bytes[p + i]) else { return nil }
                value = value * 16 + UInt32(d)
            }
            guard let scalar = Unicode.Scalar(value), Self.isIdentifierScalar(scalar, first: first) else { return nil }
            return (scalar, 6)
        }
        guard let (scalar, length) = scalarAhead(at: p) else { return b >= 0x80 ? ("\u{FFFD}", 1) : nil }
        return Self.isIdentifierScalar(scalar, first: first) ? (scalar, length) : nil
    }

    /// The identifier name at `index`, decoded, its length in bytes, and whether it was spelled with escapes;
    /// an empty word when none starts here.
    func identifierAhead() -> (word: String, length: Int, escaped: Bool) {
        var end = index
        var word = String.UnicodeScalarView()
        var escaped = false
        while let (scalar, length) = identifierCharacter(at: end, first: end == index) {
            word.append(scalar)
            escaped = escaped || bytes[end] == UInt8(ascii: "\\")
            end += length
        }
        return (String(word), end - index, escaped)
    }

    // MARK: Values

    mutating func parseValue() throws(JSONParseError) -> JSONNode {
        let start = here
        guard index < bytes.count else { throw fail("unexpected end of file: expected a value") }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""), UInt8(ascii: "'"):
            let (s, map) = try parseString()
            return JSONNode(.string(s), at: start, stringPositions: map)
        case UInt8(ascii: "-"), UInt8(ascii: "+"), UInt8(ascii: "."), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return try parseNumber()
        default:
            // Literals must be spelled out: `tru\u0065` is an identifier, not `true`.
            let (word, length, escaped) = identifierAhead()
            switch escaped ? "" : word {
            case "true": consume(length); return JSONNode(.bool(true), at: start)
            case "false": consume(length); return JSONNode(.bool(false), at: start)
            case "null": consume(length); return JSONNode(.null, at: start)
            case "Infinity", "NaN": return try parseNumber()
            default:
                if word.isEmpty { throw fail("unexpected \(describeCurrent()): expected a value") }
                let spelling = String(decoding: bytes[index..<index + length], as: UTF8.self)
                throw fail("unexpected '\(spelling)': strings must be quoted")
            }
        }
    }

    mutating func enter() throws(JSONParseError) {
        depth += 1
        if depth > Self.maxDepth { throw fail("nesting deeper than \(Self.maxDepth) levels") }
    }

    mutating func parseObject() throws(JSONParseError) -> JSONNode {
        let start = here
        try enter()
        advance()  // {
        var members: [JSONMember] = []
        while true {
            try skipSpace()
            guard index < bytes.count else {
                throw JSONParseError(position: start, message: "unterminated object: expected '}'")
            }
            if bytes[index] == UInt8(ascii: "}") {
                advance()
                break
            }
            let keyPosition = here
            let key: String
            if bytes[index] == UInt8(ascii: "\"") || bytes[index] == UInt8(ascii: "'") {
                key = try parseString().0
            } else {
                let (word, length, _) = identifierAhead()
                if word.isEmpty { throw fail("unexpected \(describeCurrent()): expected a key or '}'") }
                consume(length)
                if index < bytes.count && bytes[index] == UInt8(ascii: "\\") {
                    throw fail("invalid escape in key '\(word)': expected \\u and 4 hex digits of a key character")
                }
                key = word
            }
            try skipSpace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else {
                throw fail("expected ':' after key '\(key)'")
            }
            advance()
            try skipSpace()
            let value = try parseValue()
            members.append(JSONMember(key: key, keyPosition: keyPosition, value: value))
            try skipSpace()
            guard index < bytes.count else {
                throw JSONParseError(position: start, message: "unterminated object: expected '}'")
            }
            if bytes[index] == UInt8(ascii: ",") {
                advance()
            } else if bytes[index] != UInt8(ascii: "}") {
                throw fail("expected ',' or '}' after the value of '\(key)', found \(describeCurrent())")
            }
        }
        depth -= 1
        return JSONNode(.object(members), at: start)
    }

    mutating func parseArray() throws(JSONParseError) -> JSONNode {
        let start = here
        try enter()
        advance()  // [
        var items: [JSONNode] = []
        while true {
            try skipSpace()
            guard index < bytes.count else {
                throw JSONParseError(position: start, message: "unterminated list: expected ']'")
            }
            if bytes[index] == UInt8(ascii: "]") {
                advance()
                break
            }
            items.append(try parseValue())
            try skipSpace()
            guard index < bytes.count else {
                throw JSONParseError(position: start, message: "unterminated list: expected ']'")
            }
            if bytes[index] == UInt8(ascii: ",") {
                advance()
            } else if bytes[index] != UInt8(ascii: "]") {
                throw fail("expected ',' or ']' in list, found \(describeCurrent())")
            }
        }
        depth -= 1
        return JSONNode(.array(items), at: start)
    }

    // MARK: Strings

}
