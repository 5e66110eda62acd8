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
public struct JSON5Parser {
    private let bytes: [UInt8]
    private var index = 0
    private var line = 1
    private var column = 1
    private let recordStringPositions: Bool
    private var depth = 0
    private static let maxDepth = 200

    public init(_ text: String, recordStringPositions: Bool = true) {
        self.init(bytes: Array(text.utf8), recordStringPositions: recordStringPositions)
    }

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

    public static func parse(bytes: [UInt8], recordStringPositions: Bool = true) throws(JSONParseError) -> JSONNode {
        var parser = JSON5Parser(bytes: bytes, recordStringPositions: recordStringPositions)
        return try parser.parseDocument()
    }

    public mutating func parseDocument() throws(JSONParseError) -> JSONNode {
        try skipSpace()
        guard index < bytes.count else { throw fail("empty document: expected a value") }
        let node = try parseValue()
        try skipSpace()
        if index < bytes.count { throw fail("unexpected \(describeCurrent()) after the value") }
        return node
    }

    private var here: SourcePosition { SourcePosition(line: line, column: column) }

    private func fail(_ message: String) -> JSONParseError { JSONParseError(position: here, message: message) }

    private func describeCurrent() -> String {
        guard index < bytes.count else { return "end of file" }
        let b = bytes[index]
        if b >= 0x21 && b < 0x7F { return "'\(Character(UnicodeScalar(b)))'" }
        if b == 0x0A { return "end of line" }
        return "byte 0x\(String(b, radix: 16))"
    }

    private mutating func advance() {
        let b = bytes[index]
        index += 1
        if b == 0x0A {
            line += 1
            column = 1
        } else if b & 0xC0 != 0x80 {
            column += 1
        }
    }

    private mutating func skipSpace() throws(JSONParseError) {
        while index < bytes.count {
            let b = bytes[index]
            switch b {
            case 0x20, 0x09, 0x0A, 0x0D, 0x0B, 0x0C: advance()
            case 0xC2 where index + 1 < bytes.count && bytes[index + 1] == 0xA0: advance(); advance()
            case 0x2F:  // '/'
                guard index + 1 < bytes.count else { throw fail("unexpected '/'") }
                if bytes[index + 1] == 0x2F {
                    while index < bytes.count && bytes[index] != 0x0A { advance() }
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
            default: return
            }
        }
    }

    private mutating func parseValue() throws(JSONParseError) -> JSONNode {
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
            let word = identifierAhead().word
            switch word {
            case "true": consume(4); return JSONNode(.bool(true), at: start)
            case "false": consume(5); return JSONNode(.bool(false), at: start)
            case "null": consume(4); return JSONNode(.null, at: start)
            case "Infinity", "NaN": return try parseNumber()
            case "": throw fail("unexpected \(describeCurrent()): expected a value")
            default: throw fail("unexpected '\(word)': strings must be quoted")
            }
        }
    }

    private mutating func consume(_ n: Int) { for _ in 0..<n { advance() } }

    /// The identifier at `index` and its length in bytes (not `word.utf8.count`: invalid UTF-8 decodes to
    /// U+FFFD, which is longer than the byte it replaces).
    private func identifierAhead() -> (word: String, length: Int) {
        var end = index
        while end < bytes.count, Self.isIdentifierByte(bytes[end], first: end == index) { end += 1 }
        return (String(decoding: bytes[index..<end], as: UTF8.self), end - index)
    }

    private static func isIdentifierByte(_ b: UInt8, first: Bool) -> Bool {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "_"),
            UInt8(ascii: "$"):
            true
        case UInt8(ascii: "0")...UInt8(ascii: "9"): !first
        default: b >= 0x80  // non-ASCII identifier characters are allowed by JSON5
        }
    }

    private mutating func enter() throws(JSONParseError) {
        depth += 1
        if depth > Self.maxDepth { throw fail("nesting deeper than \(Self.maxDepth) levels") }
    }

    private mutating func parseObject() throws(JSONParseError) -> JSONNode {
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
                let (word, length) = identifierAhead()
                if word.isEmpty { throw fail("unexpected \(describeCurrent()): expected a key or '}'") }
                consume(length)
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

    private mutating func parseArray() throws(JSONParseError) -> JSONNode {
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

    private mutating func parseString() throws(JSONParseError) -> (String, [SourcePosition]?) {
        let start = here
        let quote = bytes[index]
        advance()
        var out: [UInt8] = []
        var map: [SourcePosition]? = recordStringPositions ? [] : nil
        while true {
            guard index < bytes.count else {
                throw JSONParseError(position: start, message: "unterminated string")
            }
            let b = bytes[index]
            if b == quote {
                map?.append(here)
                advance()
                break
            }
            if b == 0x0A || b == 0x0D {
                throw JSONParseError(
                    position: start, message: "unterminated string: line ends before the closing quote")
            }
            let charStart = here
            if b == UInt8(ascii: "\\") {
                advance()
                guard index < bytes.count else { throw JSONParseError(position: start, message: "unterminated string") }
                let e = bytes[index]
                var scalar: UInt32? = nil
                switch e {
                case UInt8(ascii: "n"): scalar = 0x0A
                case UInt8(ascii: "t"): scalar = 0x09
                case UInt8(ascii: "r"): scalar = 0x0D
                case UInt8(ascii: "b"): scalar = 0x08
                case UInt8(ascii: "f"): scalar = 0x0C
                case UInt8(ascii: "v"): scalar = 0x0B
                case UInt8(ascii: "0"): scalar = 0
                case UInt8(ascii: "\""), UInt8(ascii: "'"), UInt8(ascii: "\\"), UInt8(ascii: "/"): scalar = UInt32(e)
                case 0x0A:  // line continuation
                    advance()
                    continue
                case UInt8(ascii: "x"):
                    advance()
                    scalar = try hexDigits(2)
                    appendScalar(scalar!, to: &out, map: &map, at: charStart)
                    continue
                case UInt8(ascii: "u"):
                    advance()
                    var value = try hexDigits(4)
                    if (0xD800...0xDBFF).contains(value), index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"),
                        bytes[index + 1] == UInt8(ascii: "u")
                    {
                        advance()
                        advance()
                        let low = try hexDigits(4)
                        if (0xDC00...0xDFFF).contains(low) {
                            value = 0x10000 + ((value - 0xD800) << 10) + (low - 0xDC00)
                        } else {
                            throw JSONParseError(position: charStart, message: "invalid surrogate pair in \\u escape")
                        }
                    }
                    appendScalar(value, to: &out, map: &map, at: charStart)
                    continue
                default:
                    if e < 0x80 {
                        scalar = UInt32(e)  // JSON5: any other character escapes to itself
                    } else {
                        advance()
                        continue
                    }
                }
                advance()
                appendScalar(scalar!, to: &out, map: &map, at: charStart)
                continue
            }
            out.append(b)
            map?.append(charStart)
            advance()
        }
        guard let s = String(validating: out, as: UTF8.self) else {
            throw JSONParseError(position: start, message: "string is not valid UTF-8")
        }
        return (s, map)
    }

    private func appendScalar(
        _ value: UInt32, to out: inout [UInt8], map: inout [SourcePosition]?, at position: SourcePosition
    ) {
        let scalar = UnicodeScalar(value) ?? "\u{FFFD}"
        let before = out.count
        out.append(contentsOf: Array(String(Character(scalar)).utf8))
        if map != nil {
            for _ in before..<out.count { map!.append(position) }
        }
    }

    private mutating func hexDigits(_ n: Int) throws(JSONParseError) -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<n {
            guard index < bytes.count, let d = Self.hexValue(bytes[index]) else {
                throw fail("expected \(n) hex digits in escape")
            }
            value = value * 16 + UInt32(d)
            advance()
        }
        return value
    }

    private static func hexValue(_ b: UInt8) -> UInt8? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): b - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): b - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): b - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    private mutating func parseNumber() throws(JSONParseError) -> JSONNode {
        let start = here
        var negative = false
        if bytes[index] == UInt8(ascii: "-") || bytes[index] == UInt8(ascii: "+") {
            negative = bytes[index] == UInt8(ascii: "-")
            advance()
        }
        let word = identifierAhead().word
        if word == "Infinity" {
            consume(8)
            return JSONNode(.number(negative ? -.infinity : .infinity, integer: nil), at: start)
        }
        if word == "NaN" {
            consume(3)
            return JSONNode(.number(.nan, integer: nil), at: start)
        }
        if index + 1 < bytes.count, bytes[index] == UInt8(ascii: "0"),
            bytes[index + 1] == UInt8(ascii: "x") || bytes[index + 1] == UInt8(ascii: "X")
        {
            advance()
            advance()
            var value: UInt64 = 0
            var digits = 0
            while index < bytes.count, let d = Self.hexValue(bytes[index]) {
                let (m, o1) = value.multipliedReportingOverflow(by: 16)
                let (a, o2) = m.addingReportingOverflow(UInt64(d))
                if o1 || o2 { throw JSONParseError(position: start, message: "hex number too large") }
                value = a
                digits += 1
                advance()
            }
            if digits == 0 { throw fail("expected hex digits after 0x") }
            let signed = Int64(exactly: value).map { negative ? -$0 : $0 }
            return JSONNode(.number(negative ? -Double(value) : Double(value), integer: signed), at: start)
        }
        var text = negative ? "-" : ""
        var isInteger = true
        var sawDigit = false
        while index < bytes.count {
            let b = bytes[index]
            if b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") {
                sawDigit = true
            } else if b == UInt8(ascii: ".") {
                isInteger = false
            } else if b == UInt8(ascii: "e") || b == UInt8(ascii: "E") {
                isInteger = false
                text.append(Character(UnicodeScalar(b)))
                advance()
                if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
                    text.append(Character(UnicodeScalar(bytes[index])))
                    advance()
                }
                continue
            } else {
                break
            }
            text.append(Character(UnicodeScalar(b)))
            advance()
        }
        if index < bytes.count, Self.isIdentifierByte(bytes[index], first: false) {
            throw fail("unexpected \(describeCurrent()) in number")
        }
        var normalised = text
        if normalised.hasSuffix(".") { normalised += "0" }
        if normalised.hasPrefix(".") { normalised = "0" + normalised }
        if normalised.hasPrefix("-.") { normalised = "-0" + normalised.dropFirst() }
        guard sawDigit, let value = Double(normalised) else {
            throw JSONParseError(position: start, message: "invalid number '\(text)'")
        }
        return JSONNode(.number(value, integer: isInteger ? Int64(text) : nil), at: start)
    }
}
