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
/// memory for one record at a time (at most `maxRecordBytes`: a longer record is reported, not kept); a `.json`
/// file (one object or an array) is read whole. A UTF-8 byte-order mark at the start is ignored in every format.
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

    /// `n` bytes as a person reads a limit: `1 MiB`, `64 bytes`.
    public static func size(_ n: Int) -> String {
        n >= 1 << 20 && n % (1 << 20) == 0 ? "\(n >> 20) MiB" : "\(n) bytes"
    }

    /// A file that cannot be read as records at all.
    public struct Unreadable: Error {
        public var message: String

        public init(message: String) { self.message = message }
    }

    /// What a read skipped without an error: CSV rows that are only separators (`,,,`, as spreadsheets write).
    public struct Summary: Sendable, Equatable {
        public var skippedRows = 0
    }

    public let decoder: ReferralDecoder
    /// The most bytes one record may hold: 1 MiB.
    public let maxRecordBytes: Int

    public init(decoder: ReferralDecoder, maxRecordBytes: Int = 1 << 20) {
        self.decoder = decoder
        self.maxRecordBytes = maxRecordBytes
    }

    public static let csvColumns = [
        "id", "person", "kind", "team", "received", "flags", "complexity", "skills", "status",
    ]

    /// Reads `path`, calling `record` for each record in order. Throws `Unreadable` when the file cannot be parsed
    /// (records already passed to `record` stay passed: the caller decides what to keep).
    @discardableResult
    public func read(_ path: String, format: Format, record: (RecordLocation, RecordResult) throws -> Void) throws
        -> Summary
    {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw Unreadable(message: "cannot open the file: check its permissions")
        }
        defer { try? handle.close() }
        return try read(format: format, next: { try handle.read(upToCount: 1 << 16).map { Array($0) } }, record: record)
    }

    /// Reads records from the chunks `next` returns until it returns nil or an empty chunk: the same parser
    /// whatever the source (a file, or the fuzzer's bytes cut at any boundary).
    @discardableResult
    public func read(
        format: Format, next source: () throws -> [UInt8]?, record: (RecordLocation, RecordResult) throws -> Void
    ) throws -> Summary {
        var summary = Summary()
        // The byte-order mark Excel's "CSV UTF-8" (and some JSON writers) put first, however the chunks fall.
        var started = false
        var held: [UInt8] = []
        func next() throws -> [UInt8]? {
            if started { return try source() }
            while held.count < 3, let chunk = try source(), !chunk.isEmpty { held += chunk }
            started = true
            if held.starts(with: [0xEF, 0xBB, 0xBF]) { held.removeFirst(3) }
            defer { held = [] }
            return held.isEmpty ? try source() : held
        }
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
            // The record size limit, as for the streamed formats: here on what a record holds.
            func limited(_ result: RecordResult) -> RecordResult {
                guard case .valid(let r) = result, ReferralDecoder.approximateSize(r) > maxRecordBytes else {
                    return result
                }
                return .invalid([
                    FieldError(field: "", message: "the record is longer than \(Self.size(maxRecordBytes))")
                ])
            }
            if case .array(let items) = root.value {
                for (i, node) in items.enumerated() {
                    try record(RecordLocation(index: i + 1), limited(decoder.decode(node)))
                }
            } else {
                try record(RecordLocation(index: 1), limited(decoder.decode(root)))
            }
        case .jsonl:
            var buffer: [UInt8] = []
            var line = 0
            var oversized = false  // the current line is over the limit: its bytes are dropped until its end
            func emit(_ bytes: ArraySlice<UInt8>) throws {
                line += 1
                if oversized || bytes.count > maxRecordBytes {
                    oversized = false
                    try record(
                        RecordLocation(line: line),
                        .invalid([
                            FieldError(field: "", message: "the record is longer than \(Self.size(maxRecordBytes))")
                        ]))
                    return
                }
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
                if buffer.count > maxRecordBytes {
                    oversized = true
                    buffer.removeAll(keepingCapacity: true)
                }
            }
            if !buffer.isEmpty || oversized { try emit(buffer[...]) }
        case .csv:
            var reader = CSVReader(maxRecordBytes: maxRecordBytes)
            var header: [String]?
            var failure: Unreadable?
            let handleRecord: (CSVReader.Record) throws -> Void = { r in
                guard failure == nil else { return }
                guard let columns = header else {
                    if let problem = r.problem {
                        failure = Unreadable(message: "the header row: \(problem)")
                        return
                    }
                    let names = r.fields.map { $0.trimmingCharacters(in: .whitespaces) }
                    if let problem = Self.checkHeader(names) {
                        failure = Unreadable(message: problem)
                        return
                    }
                    header = names
                    return
                }
                let location = RecordLocation(line: r.line)
                if let problem = r.problem {
                    try record(location, .invalid([FieldError(field: "", message: problem)]))
                } else if r.fields.allSatisfy({ $0.trimmingCharacters(in: .whitespaces).isEmpty }) {
                    summary.skippedRows += 1  // only separators: a spreadsheet's empty row
                } else {
                    try record(location, csvRecord(r.fields, columns: columns))
                }
            }
            while let chunk = try next(), !chunk.isEmpty {
                try reader.feed(chunk, emit: handleRecord)
                if let failure { throw failure }
            }
            try reader.finish(emit: handleRecord)
            if let failure { throw failure }
            if header == nil { throw Unreadable(message: "empty CSV file: expected a header row") }
        }
        return summary
    }

    public static func checkHeader(_ names: [String]) -> String? {
        var seen = Set<String>()
        for name in names {
            if name.isEmpty { continue }  // an unnamed column: its values must all be empty (checked per row)
            if !seen.insert(name).inserted {
                return "column '\(ReferralDecoder.excerpt(name))' appears twice in the header"
            }
            if name.hasPrefix("fact.") {
                if !ReferralDecoder.isValidFactName(String(name.dropFirst(5))) {
                    return
                        "column '\(ReferralDecoder.excerpt(name))': fact names are letters, digits and _, starting with a letter"
                }
                continue
            }
            if !csvColumns.contains(name) {
                var message = "unknown column '\(ReferralDecoder.excerpt(name))' in the header"
                if let guess = closestMatch(name, in: csvColumns) { message += "; did you mean '\(guess)'?" }
                return message + " (columns: \(csvColumns.joined(separator: ",")), and fact.NAME)"
            }
        }
        for required in ["id", "person", "kind", "received"] where !seen.contains(required) {
            return "the header has no '\(required)' column"
        }
        return nil
    }

    /// A CSV cell as a fact. Cells have no types, so: `true`/`false` in any case (`TRUE`, as spreadsheets write)
    /// are booleans and a numeral with spaces around it (` 86 `) a number, unless the policies use the fact as a
    /// string, when the cell is kept as written.
    static func csvFact(_ value: String, as type: FactType?) -> FactValue {
        if type == .string || type == .date { return .string(value) }
        let trimmed = value.trimmingCharacters(in: .whitespaces)
        switch trimmed.lowercased() {
        case "true": return .bool(true)
        case "false": return .bool(false)
        default: break
        }
        if isNumeral(trimmed), let d = Double(trimmed), d.isFinite { return .number(d) }
        return .string(value)
    }

    /// `-12`, `3.5`, `1e3`: digits with an optional sign, fraction and exponent (not `inf`, `nan` or hex).
    static func isNumeral(_ s: String) -> Bool {
        var u = Substring(s).utf8[...]
        if u.first == 0x2D || u.first == 0x2B { u = u.dropFirst() }
        let digits = u.prefix { $0 >= 0x30 && $0 <= 0x39 }
        guard !digits.isEmpty else { return false }
        u = u.dropFirst(digits.count)
        if u.first == 0x2E {
            u = u.dropFirst()
            u = u.drop { $0 >= 0x30 && $0 <= 0x39 }
        }
        if u.first == 0x65 || u.first == 0x45 {
            u = u.dropFirst()
            if u.first == 0x2D || u.first == 0x2B { u = u.dropFirst() }
            let exp = u.prefix { $0 >= 0x30 && $0 <= 0x39 }
            guard !exp.isEmpty else { return false }
            u = u.dropFirst(exp.count)
        }
        return u.isEmpty
    }

    private func csvRecord(_ given: [String], columns: [String]) -> RecordResult {
        // Trailing unnamed columns may be left off a row, and empty cells past the header's end are nothing.
        var fields = given
        while fields.count > columns.count, fields.last?.trimmingCharacters(in: .whitespaces).isEmpty == true {
            fields.removeLast()
        }
        if fields.count < columns.count, columns[fields.count...].allSatisfy(\.isEmpty) {
            fields += Array(repeating: "", count: columns.count - fields.count)
        }
        guard fields.count == columns.count else {
            return .invalid([
                FieldError(field: "", message: "has \(fields.count) fields, but the header has \(columns.count)")
            ])
        }
        var values: [String: String] = [:]
        var errors: [FieldError] = []
        for (n, (name, value)) in zip(columns, fields).enumerated() where !value.isEmpty {
            if name.isEmpty {
                if !value.trimmingCharacters(in: .whitespaces).isEmpty {
                    errors.append(
                        FieldError(
                            field: "(unnamed)",
                            message:
                                "column \(n + 1) has no name in the header but holds '\(ReferralDecoder.excerpt(value))'"
                        ))
                }
                continue
            }
            values[name] = value
        }
        func list(_ key: String) -> [String] {
            (values[key] ?? "").split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }.filter {
                !$0.isEmpty
            }
        }
        var raw = ReferralDecoder.RawFields(
            id: values["id"], person: values["person"], kind: values["kind"], team: values["team"],
            received: values["received"], flags: list("flags"), skills: list("skills"), status: values["status"])
        if let c = values["complexity"] {
            if let v = Int64(c.trimmingCharacters(in: .whitespaces)) {
                raw.complexity = v
            } else {
                errors.append(
                    FieldError(field: "complexity", message: "must be a whole number from 1 to 5, not '\(c)'"))
            }
        }
        let types = values["kind"].flatMap { decoder.factTypes[$0] } ?? [:]
        for (name, value) in values.sorted(by: { $0.key < $1.key }) where name.hasPrefix("fact.") {
            let key = String(name.dropFirst(5))
            raw.facts.append((key, Self.csvFact(value, as: types[key]), nil))
        }
        return decoder.validate(raw, errors: errors)
    }
}
