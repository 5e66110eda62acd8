// libFuzzer target: the spool record parser. The first byte picks the format (JSON, JSONL, CSV) and the size of
// the chunks the bytes arrive in, so record and quote boundaries fall everywhere. Built by Tests/Fuzz/run.
import DutyCore
import Foundation

private let reader = SpoolReader(
    decoder: ReferralDecoder(
        timeZone: TimeZone(identifier: "Europe/London")!, knownKinds: ["safeguarding", "dols"],
        knownTeams: ["T1"]))

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSpool(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let format: SpoolReader.Format = [.json, .jsonl, .csv][Int(data[0] % 3)]
    let chunk = 1 + Int(data[0] / 3)
    let bytes = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    var offset = 0
    var records = 0
    do {
        try reader.read(
            format: format,
            next: {
                guard offset < bytes.count else { return nil }
                let end = min(offset + chunk, bytes.count)
                defer { offset = end }
                return Array(bytes[offset..<end])
            },
            record: { _, _ in records += 1 })
    } catch is SpoolReader.Unreadable {
        // A file that is not records at all: the daemon moves it aside with this reason.
    } catch {
        fatalError("unexpected error \(error)")
    }
    return 0
}
