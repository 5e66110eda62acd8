import Foundation
import Testing

@testable import DutyCore

/// The spool reader's treatment of real exports, however the bytes arrive.
@Suite struct SpoolReaderTests {
    let decoder = ReferralDecoder(timeZone: TimeZone(identifier: "Europe/London")!)

    func read(
        _ bytes: [UInt8], format: SpoolReader.Format, chunk: Int, limit: Int = 1 << 20
    ) throws -> ([RecordResult], SpoolReader.Summary) {
        var offset = 0
        var out: [RecordResult] = []
        let summary = try SpoolReader(decoder: decoder, maxRecordBytes: limit).read(
            format: format,
            next: {
                guard offset < bytes.count else { return nil }
                defer { offset += chunk }
                return Array(bytes[offset..<min(bytes.count, offset + chunk)])
            }, record: { out.append($1) })
        return (out, summary)
    }

    /// Excel's "CSV UTF-8" byte-order mark is ignored in every format, wherever the chunks split it.
    @Test(arguments: [1, 2, 3, 5, 64]) func byteOrderMarkInAnyChunking(chunk: Int) throws {
        let bom: [UInt8] = [0xEF, 0xBB, 0xBF]
        let csv = bom + Array("id,person,kind,received\nSG-1,P-1,safeguarding,2024-09-02\n".utf8)
        let jsonl = bom + Array(#"{"id":"SG-1","person":"P-1","kind":"safeguarding","received":"2024-09-02"}"#.utf8)
        for (bytes, format) in [(csv, SpoolReader.Format.csv), (jsonl, .jsonl), (jsonl, .json)] {
            let (records, _) = try read(bytes, format: format, chunk: chunk)
            guard records.count == 1, case .valid(let r) = records[0] else {
                Issue.record("\(format) in chunks of \(chunk): \(records)")
                continue
            }
            #expect(r.id == "SG-1")
        }
    }

    @Test func separatorOnlyRowsAreCountedNotErrors() throws {
        let csv = "id,person,kind,received,,\n,,,,,\nSG-1,P-1,safeguarding,2024-09-02,,\n , ,,,,\n"
        let (records, summary) = try read(Array(csv.utf8), format: .csv, chunk: 7)
        #expect(records.count == 1 && summary.skippedRows == 2)
    }

    @Test func recordsOverTheLimitAreReportedNotKept() throws {
        let long = String(repeating: "x", count: 100)
        let csv = "id,person,kind,received\nSG-1,\(long),safeguarding,2024-09-02\nSG-2,P-2,safeguarding,2024-09-02\n"
        let (records, _) = try read(Array(csv.utf8), format: .csv, chunk: 16, limit: 64)
        #expect(records.count == 2)
        guard case .invalid(let e) = records[0], case .valid = records[1] else {
            Issue.record("\(records)")
            return
        }
        #expect(e.map(\.message) == ["the record is longer than 64 bytes"])
    }

    @Test func numeralsAreStrict() {
        for s in ["86", "-3", "+2", "3.5", "1e3", "2.", "-0.25E-2"] { #expect(SpoolReader.isNumeral(s), "\(s)") }
        for s in ["", "-", "inf", "nan", "0x10", "1e", "86 years", "1,000", "."] {
            #expect(!SpoolReader.isNumeral(s), "\(s)")
        }
        #expect(SpoolReader.csvFact(" TRUE ", as: nil) == .bool(true))
        #expect(SpoolReader.csvFact("0042", as: .string) == .string("0042"))
        #expect(SpoolReader.csvFact(" 86 ", as: nil) == .number(86))
        #expect(SpoolReader.csvFact("Bath", as: nil) == .string("Bath"))
    }

    @Test func controlCharactersAreEscapedForPrinting() {
        #expect(ReferralDecoder.escapingControlCharacters("a\u{1b}[2Jb\r\nc") == #"a\u{1b}[2Jb\u{d}\u{a}c"#)
        #expect(ReferralDecoder.escapingControlCharacters("plain é") == "plain é")
        #expect(ReferralDecoder.hasControlCharacter("tab\tok") == false)
        #expect(ReferralDecoder.hasControlCharacter("bell\u{7}") == true)
    }
}
