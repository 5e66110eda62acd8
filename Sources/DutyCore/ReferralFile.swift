import Foundation

/// Where a record sits in its file: `record N` (1-based, in a JSON array) or `line N` (JSONL, CSV).
public struct RecordLocation: Sendable, Hashable, CustomStringConvertible {
    public var index: Int?
    public var line: Int?

    public init(index: Int? = nil, line: Int? = nil) {
        self.index = index
        self.line = line
    }

    public var description: String {
        if let line { return "line \(line)" }
        return "record \(index ?? 1)"
    }
}

/// One record of a referrals file after decoding.
public struct DecodedRecord: Sendable {
    public var location: RecordLocation
    public var result: RecordResult
}

/// Reading referrals from `.json` (one object or an array) and `.jsonl` (one object per line) text.
public enum ReferralFile {
    public enum Format: String, Sendable {
        case json, jsonl

        /// The format for a file name, by extension.
        public init?(path: String) {
            if path.hasSuffix(".jsonl") || path.hasSuffix(".ndjson") {
                self = .jsonl
            } else if path.hasSuffix(".json") || path.hasSuffix(".json5") {
                self = .json
            } else {
                return nil
            }
        }
    }

    /// Decodes every record. Throws when the file cannot be parsed at all (a JSON syntax error; in JSONL a bad
    /// line is a bad record, not a bad file).
    public static func decode(_ text: String, format: Format, decoder: ReferralDecoder) throws(JSONParseError)
        -> [DecodedRecord]
    {
        switch format {
        case .json:
            let root = try JSON5Parser.parse(text, recordStringPositions: false)
            if case .array(let items) = root.value {
                return items.enumerated().map { i, node in
                    DecodedRecord(location: RecordLocation(index: i + 1), result: decoder.decode(node))
                }
            }
            return [DecodedRecord(location: RecordLocation(index: 1), result: decoder.decode(root))]
        case .jsonl:
            var out: [DecodedRecord] = []
            var lineNumber = 0
            for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
                lineNumber += 1
                if line.allSatisfy({ $0 == " " || $0 == "\t" || $0 == "\r" }) { continue }
                let location = RecordLocation(line: lineNumber)
                do {
                    let node = try JSON5Parser.parse(String(line), recordStringPositions: false)
                    out.append(DecodedRecord(location: location, result: decoder.decode(node)))
                } catch {
                    out.append(
                        DecodedRecord(
                            location: location,
                            result: .invalid([
                                FieldError(
                                    field: "",
                                    message: "not valid JSON at column \(error.position.column): \(error.message)")
                            ])))
                }
            }
            return out
        }
    }
}
