import DutyCore
import Foundation

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

    /// The worker an event concerns, for `duty log --worker`.
    static func worker(type: String, data: JSONValue) -> String? {
        if let w = data["worker"]?.stringValue { return w }
        if type.hasPrefix("override.") { return data["to"]?.stringValue ?? data["from"]?.stringValue }
        return nil
    }
}
