import Foundation

extension JSONValue {
    /// The member `key` of an object.
    public subscript(_ key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.0 == key }?.1
    }

    /// An object's keys in order.
    public var objectKeys: [String] { if case .object(let m) = self { m.map(\.0) } else { [] } }

    public var stringValue: String? { if case .string(let s) = self { s } else { nil } }

    public var doubleValue: Double? {
        switch self {
        case .int(let i): Double(i)
        case .number(let d): d
        default: nil
        }
    }

    public var intValue: Int64? {
        switch self {
        case .int(let i): i
        case .number(let d): Int64(exactly: d)
        default: nil
        }
    }

    public var boolValue: Bool? { if case .bool(let b) = self { b } else { nil } }

    public var stringArray: [String]? {
        guard case .array(let items) = self else { return nil }
        return items.compactMap(\.stringValue)
    }

    public var isNull: Bool { if case .null = self { true } else { false } }

    /// A parsed JSON node as a value (object order kept).
    public init(_ node: JSONNode) {
        switch node.value {
        case .null: self = .null
        case .bool(let b): self = .bool(b)
        case .number(let d, let i): self = i.map { .int($0) } ?? .number(d)
        case .string(let s): self = .string(s)
        case .array(let items): self = .array(items.map(JSONValue.init))
        case .object(let members): self = .object(members.map { ($0.key, JSONValue($0.value)) })
        }
    }

    /// Parses JSON text (as stored in the log).
    public static func parse(_ text: String) -> JSONValue? {
        (try? JSON5Parser.parse(text, recordStringPositions: false)).map(JSONValue.init)
    }

    /// A time written as ISO 8601.
    public var timeValue: Date? { stringValue.flatMap { ISOTime.parse($0, timeZone: TimeZone(identifier: "UTC")!) } }

    /// A referral's facts as a JSON object, keys sorted.
    public static func facts(_ facts: [String: FactValue]) -> JSONValue {
        .object(
            facts.sorted { $0.key < $1.key }.map { key, value in
                switch value {
                case .string(let s): (key, .string(s))
                case .number(let n): (key, .number(n))
                case .bool(let b): (key, .bool(b))
                }
            })
    }
}
