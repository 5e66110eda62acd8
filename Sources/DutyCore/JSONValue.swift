import Foundation

/// A JSON value for output, with object members in a chosen order. `serialized(sortedKeys: true)` gives the
/// canonical form (sorted keys, no insignificant whitespace).
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case int(Int64)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])

    public static func == (a: JSONValue, b: JSONValue) -> Bool {
        a.serialized(sortedKeys: true) == b.serialized(sortedKeys: true)
    }

    public func hash(into hasher: inout Hasher) { hasher.combine(serialized(sortedKeys: true)) }

    public static func string(_ s: String?) -> JSONValue { s.map { .string($0) } ?? .null }
    public static func time(_ d: Date?) -> JSONValue { d.map { .string(ISOTime.format($0)) } ?? .null }
    public static func strings(_ list: [String]) -> JSONValue { .array(list.map { .string($0) }) }

    public func serialized(sortedKeys: Bool = false) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(128)
        write(to: &out, sortedKeys: sortedKeys)
        return String(decoding: out, as: UTF8.self)
    }

    public func write(to out: inout String, sortedKeys: Bool) {
        out += serialized(sortedKeys: sortedKeys)
    }

    /// Writes UTF-8 JSON into a byte buffer (much faster than appending to a String piece by piece).
    public func write(to out: inout [UInt8], sortedKeys: Bool) {
        switch self {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case .int(let i): Self.writeInteger(i, into: &out)
        case .number(let d): Self.writeNumber(d, into: &out)
        case .string(let s): Self.quote(s, into: &out)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            var first = true
            for item in items {
                if !first { out.append(UInt8(ascii: ",")) }
                first = false
                item.write(to: &out, sortedKeys: sortedKeys)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            if sortedKeys && !Self.inOrder(members) {
                Self.writeMembers(members.sorted { Self.precedes($0.0, $1.0) }, into: &out, sortedKeys: true)
            } else {
                Self.writeMembers(members, into: &out, sortedKeys: sortedKeys)
            }
        }
    }

    private static func writeMembers(_ members: [(String, JSONValue)], into out: inout [UInt8], sortedKeys: Bool) {
        out.append(UInt8(ascii: "{"))
        var first = true
        for member in members {
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            quote(member.0, into: &out)
            out.append(UInt8(ascii: ":"))
            member.1.write(to: &out, sortedKeys: sortedKeys)
        }
        out.append(UInt8(ascii: "}"))
    }

    /// Whether the keys are already in canonical order (the usual case: objects are built sorted).
    private static func inOrder(_ members: [(String, JSONValue)]) -> Bool {
        var k = 1
        while k < members.count {
            if !precedes(members[k - 1].0, members[k].0) { return false }
            k += 1
        }
        return true
    }

    /// Decimal digits of an integer, as `String(i)` gives them.
    static func writeInteger(_ i: Int64, into out: inout [UInt8]) {
        if i >= 0 && i < 10 {
            out.append(0x30 + UInt8(i))
            return
        }
        if i < 0 { out.append(UInt8(ascii: "-")) }
        var magnitude = i.magnitude
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            var n = 20
            repeat {
                n -= 1
                digits[n] = 0x30 + UInt8(magnitude % 10)
                magnitude /= 10
            } while magnitude > 0
            out.append(contentsOf: UnsafeBufferPointer(rebasing: digits[n...]))
        }
    }

    /// A serialized JSON text safe as one line for any reader: U+2028 and U+2029, legal raw in JSON strings but
    /// line ends to JavaScript and some line readers, written as `\u2028` and `\u2029` (the same strings).
    /// Only output is so escaped: the canonical form the hashes cover keeps them raw, as RFC 8785 does.
    public static func lineSafe(_ text: String) -> String {
        guard text.utf8.contains(0xE2) else { return text }
        return text.replacingOccurrences(of: "\u{2028}", with: "\\u2028").replacingOccurrences(
            of: "\u{2029}", with: "\\u2029")
    }

    /// Whether `a` sorts before `b` by their UTF-8 bytes: the canonical order of keys.
    static func precedes(_ a: String, _ b: String) -> Bool {
        var a = a
        var b = b
        // `withUTF8` reads a native string in place.
        return a.withUTF8 { x in
            b.withUTF8 { y in
                let n = min(x.count, y.count)
                let c = n == 0 ? 0 : memcmp(x.baseAddress!, y.baseAddress!, n)
                return c != 0 ? c < 0 : x.count < y.count
            }
        }
    }

    /// Numbers print as RFC 8785 (JSON Canonicalization Scheme, §3.2.2.3) prints them, which is ECMAScript's
    /// `Number.prototype.toString`: the shortest digits that read back as the same double, without an exponent
    /// from 1e-6 up to 1e21 (`10000000000000000`, `0.30000000000000004`), else with one (`1e+21`, `1e-7`);
    /// `-0` as `0`, and non-finite numbers (which JSON cannot hold) as null.
    static func writeNumber(_ d: Double, into out: inout [UInt8]) {
        guard d.isFinite else {
            out.append(contentsOf: "null".utf8)
            return
        }
        // Whole numbers below 2^53 are their own shortest digits.
        if d == d.rounded(), abs(d) < 9_007_199_254_740_992 {
            writeInteger(Int64(d), into: &out)
            return
        }
        // One decimal place, as days waiting are kept, by integer arithmetic (String(format:) was a tenth of a
        // 100,000-line JSON list's time): when the double is the one nearest that decimal, those are its
        // shortest digits.
        let tenths = (abs(d) * 10).rounded()
        if tenths < 1e14, Double(Int64(tenths)) / 10 == abs(d) {
            let t = Int64(tenths)
            if d < 0 { out.append(UInt8(ascii: "-")) }
            writeInteger(t / 10, into: &out)
            out.append(UInt8(ascii: "."))
            out.append(UInt8(48 + t % 10))
            return
        }
        writeECMAScript(d, into: &out)
    }

    /// ECMAScript's Number::toString from the shortest round-trip digits Swift's `description` gives.
    static func writeECMAScript(_ d: Double, into out: inout [UInt8]) {
        if d < 0 { out.append(UInt8(ascii: "-")) }
        // "1.2345e-07", "1e+16", "123.456", "5e-324": digits and where the decimal point falls among them.
        let text = Array(abs(d).description.utf8)
        var mantissa = text[...]
        var exponent = 0
        if let e = text.firstIndex(of: UInt8(ascii: "e")) {
            mantissa = text[..<e]
            exponent = Int(String(decoding: text[(e + 1)...], as: UTF8.self)) ?? 0
        }
        var digits: [UInt8] = []
        var point = 0
        var seenPoint = false
        for b in mantissa {
            if b == UInt8(ascii: ".") {
                seenPoint = true
            } else {
                digits.append(b)
                if !seenPoint { point += 1 }
            }
        }
        point += exponent
        while digits.count > 1, digits.first == UInt8(ascii: "0") {
            digits.removeFirst()
            point -= 1
        }
        while digits.count > 1, digits.last == UInt8(ascii: "0") { digits.removeLast() }
        let k = digits.count
        let n = point
        let zero = UInt8(ascii: "0")
        if k <= n && n <= 21 {
            out.append(contentsOf: digits)
            out.append(contentsOf: repeatElement(zero, count: n - k))
        } else if 0 < n && n <= 21 {
            out.append(contentsOf: digits[..<n])
            out.append(UInt8(ascii: "."))
            out.append(contentsOf: digits[n...])
        } else if -6 < n && n <= 0 {
            out.append(contentsOf: [zero, UInt8(ascii: ".")])
            out.append(contentsOf: repeatElement(zero, count: -n))
            out.append(contentsOf: digits)
        } else {
            out.append(digits[0])
            if k > 1 {
                out.append(UInt8(ascii: "."))
                out.append(contentsOf: digits[1...])
            }
            out.append(UInt8(ascii: "e"))
            out.append(UInt8(ascii: n - 1 < 0 ? "-" : "+"))
            out.append(contentsOf: String(abs(n - 1)).utf8)
        }
    }

    static func quote(_ s: String, into out: inout [UInt8]) {
        var s = s
        out.append(UInt8(ascii: "\""))
        // The bytes read in place (`withUTF8` copies only a string that does not keep them contiguous); runs with
        // nothing to escape, the usual case, are copied whole.
        s.withUTF8 { bytes in
            var start = 0
            for i in 0..<bytes.count {
                let b = bytes[i]
                guard b < 0x20 || b == 0x22 || b == 0x5C else { continue }
                out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<i]))
                start = i + 1
                switch b {
                case UInt8(ascii: "\""): out.append(contentsOf: [0x5C, 0x22])
                case UInt8(ascii: "\\"): out.append(contentsOf: [0x5C, 0x5C])
                case 0x0A: out.append(contentsOf: [0x5C, UInt8(ascii: "n")])
                case 0x0D: out.append(contentsOf: [0x5C, UInt8(ascii: "r")])
                case 0x09: out.append(contentsOf: [0x5C, UInt8(ascii: "t")])
                case 0x08: out.append(contentsOf: [0x5C, UInt8(ascii: "b")])
                case 0x0C: out.append(contentsOf: [0x5C, UInt8(ascii: "f")])
                default:
                    let hex = Array("0123456789abcdef".utf8)
                    out.append(contentsOf: [0x5C, UInt8(ascii: "u"), 0x30, 0x30, hex[Int(b >> 4)], hex[Int(b & 0x0F)]])
                }
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start...]))
        }
        out.append(UInt8(ascii: "\""))
    }
}

extension String {
    /// `JSONValue.lineSafe(self)`.
    public var lineSafe: String { JSONValue.lineSafe(self) }
}
