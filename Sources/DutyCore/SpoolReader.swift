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

/// Reads one spool file record by record. JSONL and CSV stream in 64 KiB chunks, so a file of any size needs
/// memory for one record at a time; a `.json` file (one object or an array) is read whole.
public struct SpoolReader: Sendable {
    public enum Format: String, Sendable {
        case json, jsonl, csv

        public init?(fileName: String) {
            if fileName.hasSuffix(".jsonl") {
                self = .jsonl
            } else if fileName.hasSuffix(".json") {
                self = .json
            } else if fileName.hasSuffix(".csv") {
                self = .csv
            } else {
                return nil
            }
        }
    }

    /// A file that cannot be read as records at all.
    public struct Unreadable: Error {
        public var message: String
    }

    public let decoder: ReferralDecoder

    public init(decoder: ReferralDecoder) { self.decoder = decoder }

    public static let csvColumns = [
        "id", "person", "kind", "team", "received", "flags", "complexity", "skills", "status",
    ]

    /// Reads `path`, calling `record` for each record in order. Throws `Unreadable` when the file cannot be parsed
    /// (records already passed to `record` stay passed: the caller decides what to keep).
    public func read(_ path: String, format: Format, record: (RecordLocation, RecordResult) throws -> Void) throws {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw Unreadable(message: "cannot open the file: check its permissions")
        }
        defer { try? handle.close() }
        try read(format: format, next: { try handle.read(upToCount: 1 << 16).map { Array($0) } }, record: record)
    }

    /// Reads records from the chunks `next` returns until it returns nil or an empty chunk: the same parser
    /// whatever the source (a file, or the fuzzer's bytes cut at any boundary).
    public func read(
        format: Format, next: () throws -> [UInt8]?, record: (RecordLocation, RecordResult) throws -> Void
    ) throws {
        switch format {
        case .json:
            var data: [UInt8] = []
            while let chunk = try next(), !chunk.isEmpty { data.append(contentsOf: chunk) }
            let root: JSONNode
            do {
                root = try JSON5Parser.parse(bytes: data, recordStringPositions: false)
            } catch {
                throw Unreadable(
                    message:
                        "not valid JSON at line \(error.position.line), column \(error.position.column): \(error.message)"
                )
            }
            if case .array(let items) = root.value {
                for (i, node) in items.enumerated() { try record(RecordLocation(index: i + 1), decoder.decode(node)) }
            } else {
                try record(RecordLocation(index: 1), decoder.decode(root))
            }
        case .jsonl:
            var buffer: [UInt8] = []
            var line = 0
            func emit(_ bytes: ArraySlice<UInt8>) throws {
                line += 1
                var slice = bytes
                if slice.last == 0x0D { slice = slice.dropLast() }
                guard slice.contains(where: { $0 != 0x20 && $0 != 0x09 }) else { return }
                let location = RecordLocation(line: line)
                do {
                    let node = try JSON5Parser.parse(bytes: Array(slice), recordStringPositions: false)
                    try record(location, decoder.decode(node))
                } catch let error as JSONParseError {
                    try record(
                        location,
                        .invalid([
                            FieldError(
                                field: "",
                                message: "not valid JSON at column \(error.position.column): \(error.message)")
                        ]))
                }
            }
            while let chunk = try next(), !chunk.isEmpty {
                buffer.append(contentsOf: chunk)
                var start = buffer.startIndex
                while let nl = buffer[start...].firstIndex(of: 0x0A) {
                    try emit(buffer[start..<nl])
                    start = nl + 1
                }
                buffer.removeSubrange(..<start)
            }
            if !buffer.isEmpty { try emit(buffer[...]) }
        case .csv:
            var reader = CSVReader()
            var header: [String]?
            var failure: Unreadable?
            let handleRecord: (CSVReader.Record) throws -> Void = { r in
                guard failure == nil else { return }
                guard let columns = header else {
                    let names = r.fields.map { $0.trimmingCharacters(in: .whitespaces) }
                    if let problem = Self.checkHeader(names) {
                        failure = Unreadable(message: problem)
                        return
                    }
                    header = names
                    return
                }
                try record(RecordLocation(line: r.line), csvRecord(r.fields, columns: columns))
            }
            while let chunk = try next(), !chunk.isEmpty {
                try reader.feed(chunk, emit: handleRecord)
                if let failure { throw failure }
            }
            try reader.finish(emit: handleRecord)
            if let failure { throw failure }
            if reader.unterminatedQuote { throw Unreadable(message: "the file ends inside a quoted field") }
            if header == nil { throw Unreadable(message: "empty CSV file: expected a header row") }
        }
    }

    public static func checkHeader(_ names: [String]) -> String? {
        var seen = Set<String>()
        for name in names {
            if !seen.insert(name).inserted { return "column '\(name)' appears twice in the header" }
            if name.hasPrefix("fact.") {
                if !ReferralDecoder.isValidFactName(String(name.dropFirst(5))) {
                    return "column '\(name)': fact names are letters, digits and _, starting with a letter"
                }
                continue
            }
            if !csvColumns.contains(name) {
                var message = "unknown column '\(name)' in the header"
                if let guess = closestMatch(name, in: csvColumns) { message += "; did you mean '\(guess)'?" }
                return message + " (columns: \(csvColumns.joined(separator: ",")), and fact.NAME)"
            }
        }
        for required in ["id", "person", "kind", "received"] where !seen.contains(required) {
            return "the header has no '\(required)' column"
        }
        return nil
    }

    private func csvRecord(_ fields: [String], columns: [String]) -> RecordResult {
        guard fields.count == columns.count else {
            return .invalid([
                FieldError(field: "", message: "has \(fields.count) fields, but the header has \(columns.count)")
            ])
        }
        var values: [String: String] = [:]
        for (name, value) in zip(columns, fields) where !value.isEmpty { values[name] = value }
        func list(_ key: String) -> [String] {
            (values[key] ?? "").split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }.filter {
                !$0.isEmpty
            }
        }
        var raw = ReferralDecoder.RawFields(
            id: values["id"], person: values["person"], kind: values["kind"], team: values["team"],
            received: values["received"], flags: list("flags"), skills: list("skills"), status: values["status"])
        var errors: [FieldError] = []
        if let c = values["complexity"] {
            if let v = Int64(c.trimmingCharacters(in: .whitespaces)) {
                raw.complexity = v
            } else {
                errors.append(
                    FieldError(field: "complexity", message: "must be a whole number from 1 to 5, not '\(c)'"))
            }
        }
        for (name, value) in values.sorted(by: { $0.key < $1.key }) where name.hasPrefix("fact.") {
            let fact: FactValue =
                value == "true"
                ? .bool(true) : value == "false" ? .bool(false) : Double(value).map { .number($0) } ?? .string(value)
            raw.facts.append((String(name.dropFirst(5)), fact, nil))
        }
        return decoder.validate(raw, errors: errors)
    }
}
