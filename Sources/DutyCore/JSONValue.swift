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

    /// Numbers print as integers when whole (below 1e15), else with up to 15 significant digits; non-finite
    /// numbers as null.
    static func writeNumber(_ d: Double, into out: inout [UInt8]) {
        guard d.isFinite else {
            out.append(contentsOf: "null".utf8)
            return
        }
        if d == d.rounded(), abs(d) < 1e15 {
            writeInteger(Int64(d), into: &out)
            return
        }
        // One decimal place, as days waiting are kept, by integer arithmetic: the same digits as "%.15g" gives
        // below 1e14, without String(format:) (a tenth of a 100,000-line JSON list's time).
        let tenths = d * 10
        if tenths == tenths.rounded(), abs(tenths) < 1e14 {
            let t = Int64(abs(tenths))
            if d < 0 { out.append(UInt8(ascii: "-")) }
            writeInteger(t / 10, into: &out)
            out.append(UInt8(ascii: "."))
            out.append(UInt8(48 + t % 10))
            return
        }
        var s = String(format: "%.15g", d)
        if s.contains("e") { s = String(d) }
        out.append(contentsOf: s.utf8)
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
