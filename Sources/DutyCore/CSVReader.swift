/// An RFC 4180 CSV reader over bytes fed in chunks: commas, double quotes with `""` for a quote, CRLF or LF line
/// ends, line breaks inside quoted fields. Keeps only the current record in memory.
public struct CSVReader {
    public struct Record: Sendable {
        public var fields: [String]
        /// The line the record starts on (1-based).
        public var line: Int
    }

    private var field: [UInt8] = []
    private var fields: [String] = []
    private var inQuotes = false
    private var quoteSeen = false
    private var line = 1
    private var recordLine = 1
    private var fieldStarted = false
    private var pendingCR = false

    public init() {}

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
                    field.append(b)
                }
                continue
            }
            switch b {
            case 0x22:
                if quoteSeen {
                    field.append(0x22)  // "" inside a quoted field
                    quoteSeen = false
                }
                inQuotes = true
                fieldStarted = true
            case 0x2C:
                endField()
            case 0x0A, 0x0D:
                if b == 0x0D { pendingCR = true }
                try endRecord(emit)
                line += 1
                recordLine = line
            default:
                quoteSeen = false
                field.append(b)
                fieldStarted = true
            }
        }
    }

    /// Ends input: emits a last record without a line end.
    public mutating func finish(emit: (Record) throws -> Void) rethrows {
        if fieldStarted || !fields.isEmpty || !field.isEmpty { try endRecord(emit) }
    }

    /// True when the input ended inside a quoted field.
    public var unterminatedQuote: Bool { inQuotes }

    private mutating func endField() {
        fields.append(String(decoding: field, as: UTF8.self))
        field.removeAll(keepingCapacity: true)
        quoteSeen = false
        fieldStarted = true
    }

    private mutating func endRecord(_ emit: (Record) throws -> Void) rethrows {
        if !fieldStarted && fields.isEmpty && field.isEmpty {
            recordLine = line + 1
            return  // a blank line
        }
        endField()
        let record = Record(fields: fields, line: recordLine)
        fields.removeAll(keepingCapacity: true)
        fieldStarted = false
        try emit(record)
    }
}
