// libFuzzer target: the JSON5 parser and every loader built on it. The first byte picks the loader (triage
// policy, allocation policy, roster, dutyd.conf); the rest is the file's text. Built by Tests/Fuzz/run.
import DutyCore

@testable import DutyPolicy

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfig(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    _ = try? JSON5Parser.parse(bytes: bytes)
    let text = String(decoding: bytes, as: UTF8.self)
    let sink = DiagnosticSink(file: "fuzz.json5")
    switch data[0] % 4 {
    case 0: _ = TriagePolicy.parse(text, file: "fuzz.json5", sink: sink)
    case 1:
        let ranks = ["1": 1, "2": 2, "3": 3, "red": 3, "amber": 2, "green": 1]
        _ = AllocationPolicy.parse(text, file: "fuzz.json5", sink: sink, ranks: ranks, kinds: ["safeguarding"])
    case 2: _ = Roster.parse(text, file: "fuzz.json5")
    default: _ = DutyConfig.parse(text, file: "fuzz.json5")
    }
    return 0
}
