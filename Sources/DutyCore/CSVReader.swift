/// An RFC 4180 CSV reader over bytes fed in chunks: commas, double quotes with `""` for a quote, CRLF or LF line
/// ends, line breaks inside quoted fields. A quote that does not start a field is text (`O"Brien`), so one stray
/// quote cannot swallow the rest of the file. Keeps only the current record in memory, and at most `maxRecordBytes`
/// of it.
public struct CSVReader {
    public struct Record: Sendable {
        public var fields: [String]
        /// The line the record starts on (1-based).
        public var line: Int
        /// Why the record cannot be used, if it cannot: a field that is not UTF-8, a record over the size limit,
        /// or the input ending inside a quoted field. Its fields are then not to be trusted.
        public var problem: String?
    }

    /// The most bytes one record may hold (1 MiB): a longer one is reported, not kept.
    public let maxRecordBytes: Int

    private var field: [UInt8] = []
    private var fields: [String] = []
    private var inQuotes = false
    private var quoteSeen = false
    private var line = 1
    private var recordLine = 1
    private var fieldStarted = false
    private var pendingCR = false
    /// The current field opened with a quote.
    private var fieldQuoted = false
    private var recordBytes = 0
    private var problem: String?

    public init(maxRecordBytes: Int = 1 << 20) { self.maxRecordBytes = maxRecordBytes }

    /// Feeds bytes; calls `emit` for each complete record.
    public mutating func feed(_ bytes: some Sequence<UInt8>, emit: (Record) throws -> Void) rethrows {
        for b in bytes {
            if pendingCR {
                pendingCR = false
                if b == 0x0A { continue }
            }
            if inQuotes {
                if b == 0x22 {
                    inQuotes = false
                    quoteSeen = true
                } else {
                    if b == 0x0A { line += 1 }
                    append(b)
                }
                continue
            }
            switch b {
            case 0x22:
                if quoteSeen {
                    append(0x22)  // "" inside a quoted field
                    quoteSeen = false
                    inQuotes = true
                } else if field.isEmpty && !fieldQuoted {
                    inQuotes = true  // a quoted field
                    fieldQuoted = true
                    fieldStarted = true
                } else {
                    append(0x22)  // a quote inside an unquoted field (O"Brien) is text, as spreadsheets read it
                }
            case 0x2C:
                endField()
            case 0x0A, 0x0D:
                if b == 0x0D { pendingCR = true }
                try endRecord(emit)
                line += 1
                recordLine = line
            default:
                quoteSeen = false
                append(b)
                fieldStarted = true
            }
        }
    }

    /// Ends input: emits a last record without a line end; one that ends inside a quoted field is emitted with a
    /// `problem` (it is cut short), never as if whole.
    public mutating func finish(emit: (Record) throws -> Void) rethrows {
        if inQuotes {
            problem =
                problem ?? "the file ends inside a quoted field that starts on this record: the record is cut short"
        }
        if fieldStarted || !fields.isEmpty || !field.isEmpty || problem != nil { try endRecord(emit) }
    }

    /// True when the input ended inside a quoted field.
    public var unterminatedQuote: Bool { inQuotes }

    private mutating func append(_ b: UInt8) {
        recordBytes += 1
        if recordBytes > maxRecordBytes {
            if problem == nil { problem = "the record is longer than \(SpoolReader.size(maxRecordBytes))" }
            return
        }
        field.append(b)
    }

    private mutating func endField() {
        if let s = String(validating: field, as: UTF8.self) {
            fields.append(s)
        } else {
            if problem == nil { problem = "field \(fields.count + 1) is not valid UTF-8: save the file as UTF-8" }
            fields.append("")
        }
        field.removeAll(keepingCapacity: true)
        quoteSeen = false
        fieldQuoted = false
        fieldStarted = true
    }

    private mutating func endRecord(_ emit: (Record) throws -> Void) rethrows {
        if !fieldStarted && fields.isEmpty && field.isEmpty && problem == nil {
            recordLine = line + 1
            return  // a blank line
        }
        endField()
        let record = Record(fields: fields, line: recordLine, problem: problem)
        fields.removeAll(keepingCapacity: true)
        fieldStarted = false
        recordBytes = 0
        problem = nil
        try emit(record)
    }
}
