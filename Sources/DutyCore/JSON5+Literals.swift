import Foundation

/// The JSON5 reader's literals: strings (quotes, escapes, line continuations) and numbers (decimal, hexadecimal,
/// signed, `Infinity`, `NaN`; no octal).
extension JSON5Parser {
    mutating func parseString() throws(JSONParseError) -> (String, [SourcePosition]?) {
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
            // LF and CR end a string; U+2028 and U+2029 may appear in one unescaped.
            if b == 0x0A || b == 0x0D {
                throw JSONParseError(
                    position: start, message: "unterminated string: line ends before the closing quote")
            }
            let charStart = here
            if b == UInt8(ascii: "\\") {
                advance()
                try parseEscape(into: &out, map: &map, at: charStart, stringStart: start)
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

    /// Reads the escape after a backslash (already consumed, at `charStart`) and appends what it stands for.
    mutating func parseEscape(
        into out: inout [UInt8], map: inout [SourcePosition]?, at charStart: SourcePosition,
        stringStart: SourcePosition
    ) throws(JSONParseError) {
        guard index < bytes.count else { throw JSONParseError(position: stringStart, message: "unterminated string") }
        let e = bytes[index]
        let scalar: UInt32
        switch e {
        case UInt8(ascii: "n"): scalar = 0x0A
        case UInt8(ascii: "t"): scalar = 0x09
        case UInt8(ascii: "r"): scalar = 0x0D
        case UInt8(ascii: "b"): scalar = 0x08
        case UInt8(ascii: "f"): scalar = 0x0C
        case UInt8(ascii: "v"): scalar = 0x0B
        case UInt8(ascii: "0"):
            if index + 1 < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index + 1]) {
                throw JSONParseError(
                    position: charStart, message: "invalid escape: \\0 must not be followed by a digit")
            }
            scalar = 0
        case UInt8(ascii: "1")...UInt8(ascii: "9"):
            throw JSONParseError(
                position: charStart, message: "invalid escape '\\\(Character(UnicodeScalar(e)))': octal is not JSON5")
        case 0x0A:  // line continuation: the backslash and the line break are dropped
            advance()
            return
        case 0x0D:  // line continuation after CR or CRLF
            advance()
            if index < bytes.count && bytes[index] == 0x0A { advance() }
            return
        case UInt8(ascii: "x"):
            advance()
            appendScalar(try hexDigits(2), to: &out, map: &map, at: charStart)
            return
        case UInt8(ascii: "u"):
            advance()
            var value = try hexDigits(4)
            // A high surrogate followed by an escaped low one is one character; a lone surrogate becomes U+FFFD.
            if (0xD800...0xDBFF).contains(value), let low = escapedLowSurrogateAhead() {
                consume(6)
                value = 0x10000 + ((value - 0xD800) << 10) + (low - 0xDC00)
            }
            appendScalar(value, to: &out, map: &map, at: charStart)
            return
        case 0..<0x80:
            scalar = UInt32(e)  // ' " \ / and any other character escape to themselves
        default:
            // A non-ASCII character escapes to itself too, except U+2028 and U+2029, which continue the line.
            if isUnicodeLineBreak(at: index) {
                consume(3)
                return
            }
            let length = scalarAhead(at: index)?.1 ?? 1
            for _ in 0..<length {
                out.append(bytes[index])
                map?.append(charStart)
                advance()
            }
            return
        }
        advance()
        appendScalar(scalar, to: &out, map: &map, at: charStart)
    }

    /// The value of a `\uDC00`...`\uDFFF` escape starting at `index`, without consuming it.
    func escapedLowSurrogateAhead() -> UInt32? {
        guard index + 5 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u")
        else { return nil }
        var value: UInt32 = 0
        for i in 2..<6 {
            guard let d = Self.hexValue(bytes[index + i]) else { return nil }
            value = value * 16 + UInt32(d)
        }
        return (0xDC00...0xDFFF).contains(value) ? value : nil
    }

    func appendScalar(
        _ value: UInt32, to out: inout [UInt8], map: inout [SourcePosition]?, at position: SourcePosition
    ) {
        let scalar = Unicode.Scalar(value) ?? "\u{FFFD}"
        let before = out.count
        UTF8.encode(scalar) { out.append($0) }
        map?.append(contentsOf: repeatElement(position, count: out.count - before))
    }

    mutating func hexDigits(_ n: Int) throws(JSONParseError) -> UInt32 {
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

    static func hexValue(_ b: UInt8) -> UInt8? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): b - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): b - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): b - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    // MARK: Numbers

    static func isDigit(_ b: UInt8) -> Bool { b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") }

    /// Whether an identifier character (which must not touch a number) or a backslash starts at `index`.
    var identifierCharacterAhead: Bool {
        index < bytes.count
            && (bytes[index] == UInt8(ascii: "\\") || identifierCharacter(at: index, first: false) != nil)
    }

    mutating func parseNumber() throws(JSONParseError) -> JSONNode {
        let start = here
        var sign = ""
        if bytes[index] == UInt8(ascii: "-") || bytes[index] == UInt8(ascii: "+") {
            sign = String(UnicodeScalar(bytes[index]))
            advance()
        }
        let negative = sign == "-"
        let (word, length, escaped) = identifierAhead()
        if !escaped && word == "Infinity" {
            consume(length)
            return JSONNode(.number(negative ? -.infinity : .infinity, integer: nil), at: start)
        }
        if !escaped && word == "NaN" {
            consume(length)
            return JSONNode(.number(.nan, integer: nil), at: start)
        }
        if index + 1 < bytes.count, bytes[index] == UInt8(ascii: "0"),
            bytes[index + 1] == UInt8(ascii: "x") || bytes[index + 1] == UInt8(ascii: "X")
        {
            advance()
            advance()
            // Hex numbers are doubles of any size. Keep the leading 61 to 64 bits exactly and note whether any digit
            // after them is nonzero, so the double is rounded once, to nearest.
            var value: UInt64 = 0
            var dropped = 0
            var droppedNonzero = false
            var digits = 0
            while index < bytes.count, let d = Self.hexValue(bytes[index]) {
                if dropped == 0 && value >> 60 == 0 {
                    value = value << 4 | UInt64(d)
                } else {
                    dropped += 1
                    droppedNonzero = droppedNonzero || d != 0
                }
                digits += 1
                advance()
            }
            if digits == 0 { throw fail("expected hex digits after 0x") }
            if identifierCharacterAhead { throw fail("unexpected \(describeCurrent()) in number") }
            let kept = Double(droppedNonzero ? value | 1 : value)
            let magnitude = dropped == 0 ? kept : Double(sign: .plus, exponent: 4 * dropped, significand: kept)
            var integer: Int64? = nil
            if dropped == 0 {
                integer =
                    negative ? (value <= 1 << 63 ? Int64(truncatingIfNeeded: 0 &- value) : nil) : Int64(exactly: value)
            }
            return JSONNode(.number(negative ? -magnitude : magnitude, integer: integer), at: start)
        }
        // Take the longest run of digits, points and exponents, then check it against the grammar, so that
        // `1.2.3` is reported whole.
        var text: [UInt8] = []
        while index < bytes.count {
            let b = bytes[index]
            if Self.isDigit(b) || b == UInt8(ascii: ".") {
                text.append(b)
                advance()
            } else if b == UInt8(ascii: "e") || b == UInt8(ascii: "E") {
                text.append(b)
                advance()
                if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
                    text.append(bytes[index])
                    advance()
                }
            } else {
                break
            }
        }
        if identifierCharacterAhead { throw fail("unexpected \(describeCurrent()) in number") }
        let shown = sign + String(decoding: text, as: UTF8.self)
        let isInteger: Bool
        switch Self.checkDecimal(text) {
        case .integer: isInteger = true
        case .fraction: isInteger = false
        case .leadingZero:
            throw JSONParseError(
                position: start, message: "invalid number '\(shown)': a leading 0 must not be followed by a digit")
        case .invalid: throw JSONParseError(position: start, message: "invalid number '\(shown)'")
        }
        // Spell out the zero that `.5` and `5.` leave implicit.
        var digits = text
        if digits.first == UInt8(ascii: ".") { digits.insert(UInt8(ascii: "0"), at: 0) }
        if let point = digits.firstIndex(of: UInt8(ascii: ".")),
            point + 1 == digits.count || !Self.isDigit(digits[point + 1])
        {
            digits.insert(UInt8(ascii: "0"), at: point + 1)
        }
        let normalised = (negative ? "-" : "") + String(decoding: digits, as: UTF8.self)
        guard let value = Double(normalised) else {
            throw JSONParseError(position: start, message: "invalid number '\(shown)'")
        }
        return JSONNode(.number(value, integer: isInteger ? Int64(normalised) : nil), at: start)
    }

    enum DecimalShape { case integer, fraction, leadingZero, invalid }

    /// Checks unsigned decimal digits against JSON5's DecimalLiteral: an integer part (`0`, or digits not starting
    /// with 0), a fraction (`.` and digits), or both, then an optional exponent (`e` or `E`, a sign, digits).
    static func checkDecimal(_ text: [UInt8]) -> DecimalShape {
        var i = 0
        func digits() -> Int {
            let from = i
            while i < text.count && isDigit(text[i]) { i += 1 }
            return i - from
        }
        let whole = digits()
        if whole > 1 && text[0] == UInt8(ascii: "0") { return .leadingZero }
        var fraction = 0
        var isInteger = true
        if i < text.count && text[i] == UInt8(ascii: ".") {
            i += 1
            fraction = digits()
            isInteger = false
        }
        if whole + fraction == 0 { return .invalid }
        if i < text.count && (text[i] == UInt8(ascii: "e") || text[i] == UInt8(ascii: "E")) {
            i += 1
            isInteger = false
            if i < text.count && (text[i] == UInt8(ascii: "+") || text[i] == UInt8(ascii: "-")) { i += 1 }
            if digits() == 0 { return .invalid }
        }
        if i != text.count { return .invalid }
        return isInteger ? .integer : .fraction
    }
}
