import DutyCore
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// An event to append: the log adds `seq`, `at` and `hash`.
public struct NewEvent: Sendable {
    public var type: String
    public var referral: String?
    /// `dutyd` or the roster id of the person who acted.
    public var actor: String
    public var data: JSONValue

    public init(type: String, referral: String? = nil, actor: String = "dutyd", data: JSONValue = .object([])) {
        self.type = type
        self.referral = referral
        self.actor = actor
        self.data = data
    }
}

/// An event as stored in the allocation log.
public struct StoredEvent: Sendable, Hashable {
    public var seq: Int64
    public var at: String
    public var type: String
    public var referral: String?
    public var actor: String
    /// Canonical JSON text of the data.
    public var data: String
    public var hash: String

    /// The canonical JSON of the row the hash covers: sorted keys, no insignificant whitespace, ISO-8601 UTC
    /// times; `data` is itself canonical JSON.
    public static func canonical(seq: Int64, at: String, type: String, referral: String?, actor: String, data: String)
        -> String
    {
        String(
            decoding: canonicalBytes(seq: seq, at: at, type: type, referral: referral, actor: actor, data: data),
            as: UTF8.self)
    }

    static func canonicalBytes(
        seq: Int64, at: String, type: String, referral: String?, actor: String, data: String, prefix: String = ""
    ) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(prefix.utf8.count + data.utf8.count + 160)
        out.append(contentsOf: prefix.utf8)
        out.append(contentsOf: #"{"actor":"#.utf8)
        JSONValue.string(actor).write(to: &out, sortedKeys: true)
        out.append(contentsOf: #","at":"#.utf8)
        JSONValue.string(at).write(to: &out, sortedKeys: true)
        out.append(contentsOf: #","data":"#.utf8)
        out.append(contentsOf: data.utf8)
        out.append(contentsOf: #","referral":"#.utf8)
        JSONValue.string(referral).write(to: &out, sortedKeys: true)
        out.append(contentsOf: ",\"seq\":\(seq),\"type\":".utf8)
        JSONValue.string(type).write(to: &out, sortedKeys: true)
        out.append(UInt8(ascii: "}"))
        return out
    }

    /// SHA-256 over the previous row's hash (lowercase hex) followed by this row's canonical JSON.
    public static func chain(previous: String, canonical: String) -> String { SHA256.hex(previous + canonical) }

    /// The hash of a row, from its fields.
    static func hash(
        previous: String, seq: Int64, at: String, type: String, referral: String?, actor: String, data: String
    ) -> String {
        SHA256.hex(
            canonicalBytes(seq: seq, at: at, type: type, referral: referral, actor: actor, data: data, prefix: previous)
        )
    }

    public var dataValue: JSONValue { JSONValue.parse(data) ?? .object([]) }

    /// The event as `duty log --format json` prints it.
    public var json: JSONValue {
        .object([
            ("seq", .int(seq)), ("at", .string(at)), ("type", .string(type)), ("referral", .string(referral)),
            ("actor", .string(actor)), ("data", dataValue), ("hash", .string(hash)),
        ])
    }

    /// `json` serialized, with the stored (canonical) data spliced in rather than parsed and written again.
    public var jsonLine: String {
        func q(_ s: String?) -> String { JSONValue.string(s).serialized() }
        return JSONValue.lineSafe(
            "{\"seq\":\(seq),\"at\":\(q(at)),\"type\":\(q(type)),\"referral\":\(q(referral)),\"actor\":\(q(actor))"
                + ",\"data\":\(data.isEmpty ? "null" : data),\"hash\":\(q(hash))}")
    }

    /// `worker(type:data:)` from the data's text: scanned for a top-level `"worker"` string without parsing the
    /// whole object (an allocation's data holds every candidate), parsed when the scan cannot tell.
    static func worker(type: String, dataText: String) -> String? {
        if !type.hasPrefix("override."), let found = topLevelString("worker", in: dataText) { return found.value }
        return worker(type: type, data: JSONValue.parse(dataText) ?? .object([]))
    }

    /// The value of top-level member `key` of a JSON object's text when it is a string without escapes
    /// (`(true, value)`) or absent (`(false, nil)`); nil when the scan cannot tell (an escape, another type,
    /// not an object).
    public static func topLevelString(_ key: String, in text: String) -> (found: Bool, value: String?)? {
        // On the strings' own UTF-8 storage: no copy per call (a report scans a million events' data).
        var text = text
        var key = key
        return text.withUTF8 { bytes in
            key.withUTF8 { wanted -> (found: Bool, value: String?)? in
                guard let found = valueStart(wanted, in: bytes) else { return nil }
                guard let v = found else { return (false, nil) }
                guard bytes[v] == UInt8(ascii: "\"") else { return nil }
                let (end, escaped) = stringEnd(v, in: bytes)
                guard !escaped, end < bytes.count else { return nil }
                return (true, String(decoding: UnsafeBufferPointer(rebasing: bytes[(v + 1)..<end]), as: UTF8.self))
            }
        }
    }

    /// As `topLevelString`, for a member whose value is a whole number that fits an `Int64` (nil when the scan
    /// cannot tell: another type, a fraction or exponent, too many digits).
    public static func topLevelInteger(_ key: String, in text: String) -> (found: Bool, value: Int64?)? {
        var text = text
        var key = key
        return text.withUTF8 { bytes in
            key.withUTF8 { wanted -> (found: Bool, value: Int64?)? in
                guard let found = valueStart(wanted, in: bytes) else { return nil }
                guard var i = found else { return (false, nil) }
                let negative = bytes[i] == UInt8(ascii: "-")
                if negative { i += 1 }
                var value: Int64 = 0
                let first = i
                while i < bytes.count, bytes[i] >= UInt8(ascii: "0"), bytes[i] <= UInt8(ascii: "9"), i - first < 18 {
                    value = value * 10 + Int64(bytes[i] - UInt8(ascii: "0"))
                    i += 1
                }
                guard i > first, i < bytes.count, bytes[i] == UInt8(ascii: ",") || bytes[i] == UInt8(ascii: "}")
                else { return nil }
                return (true, negative ? -value : value)
            }
        }
    }

    /// The end of the JSON string that opens at `start` (its closing quote), and whether it holds an escape.
    private static func stringEnd(_ start: Int, in bytes: UnsafeBufferPointer<UInt8>) -> (Int, Bool) {
        var j = start + 1
        var escaped = false
        while j < bytes.count && bytes[j] != UInt8(ascii: "\"") {
            if bytes[j] == UInt8(ascii: "\\") {
                escaped = true
                j += 1
            }
            j += 1
        }
        return (j, escaped)
    }

    /// Where the value of top-level member `wanted` starts in a canonical JSON object's text: `.some(nil)` when
    /// the object has no such member, nil when the scan cannot tell (not an object, no value after the colon).
    private static func valueStart(
        _ wanted: UnsafeBufferPointer<UInt8>, in bytes: UnsafeBufferPointer<UInt8>
    ) -> Int?? {
        var found: Int?? = .some(nil)
        let object = eachTopLevelMember(in: bytes) { key, count, value in
            guard count == wanted.count, wanted.isEmpty || memcmp(key, wanted.baseAddress!, count) == 0 else {
                return true
            }
            // A key with no value after it: the scan cannot tell.
            found = value.map { .some($0) } ?? nil
            return false
        }
        return object ? found : nil
    }

    /// Calls `body` with each top-level member's key (its bytes and length, when it has no escape) and where its
    /// value starts (nil when no value follows the colon), until `body` returns false. False when the text is
    /// not an object.
    @inline(__always)
    private static func eachTopLevelMember(
        in bytes: UnsafeBufferPointer<UInt8>, _ body: (UnsafePointer<UInt8>, Int, Int?) -> Bool
    ) -> Bool {
        guard bytes.first == UInt8(ascii: "{") else { return false }
        var depth = 0
        var expectingKey = false
        var i = 0
        while i < bytes.count {
            switch bytes[i] {
            case UInt8(ascii: "\""):
                let (end, escaped) = stringEnd(i, in: bytes)
                if depth == 1 && expectingKey {
                    expectingKey = false
                    if !escaped {
                        let v = end + 2  // past the closing quote and the colon (canonical JSON has no spaces)
                        let value = end + 1 < bytes.count && bytes[end + 1] == UInt8(ascii: ":") && v < bytes.count
                        if !body(bytes.baseAddress! + i + 1, end - i - 1, value ? v : nil) { return true }
                    }
                }
                i = end
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
                expectingKey = depth == 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"): depth -= 1
            case UInt8(ascii: ","): expectingKey = depth == 1
            default: break
            }
            i += 1
        }
        return true
    }

    /// Whether `needle`'s bytes occur in `text` (memchr for its first byte, memcmp for the rest: what a scan of
    /// every event of a long log needs).
    public static func contains(_ needle: String, in text: String) -> Bool {
        var text = text
        var needle = needle
        return text.withUTF8 { t in
            needle.withUTF8 { n in
                guard let first = n.first else { return true }
                guard t.count >= n.count, let base = t.baseAddress else { return false }
                var i = 0
                while i <= t.count - n.count {
                    guard let hit = memchr(base + i, Int32(first), t.count - n.count - i + 1) else { return false }
                    let at = base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
                    if memcmp(base + at, n.baseAddress!, n.count) == 0 { return true }
                    i = at + 1
                }
                return false
            }
        }
    }

    /// The worker an event concerns, for `duty log --worker`.
    static func worker(type: String, data: JSONValue) -> String? {
        if let w = data["worker"]?.stringValue { return w }
        if type.hasPrefix("override.") { return data["to"]?.stringValue ?? data["from"]?.stringValue }
        return nil
    }
}
