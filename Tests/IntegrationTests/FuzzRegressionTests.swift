import DutyControl
import DutyCore
import DutyPolicy
import Foundation
import Testing

/// Every input a fuzz target ever crashed on (Tests/Fuzz/regressions/TARGET/) runs through the same parser in
/// the ordinary suite, so a fix cannot silently regress. Tests/Fuzz/run also replays them under ASan.
@Suite struct FuzzRegressionTests {
    static func inputs(_ target: String) throws -> [[UInt8]] {
        let dir = repositoryRoot + "/Tests/Fuzz/regressions/" + target
        let names = try FileManager.default.contentsOfDirectory(atPath: dir).sorted()
        return try names.map { Array(try Data(contentsOf: URL(fileURLWithPath: dir + "/" + $0))) }
    }

    @Test func controlInputsAreRejectedNotFatal() throws {
        let inputs = try Self.inputs("control")
        #expect(!inputs.isEmpty)
        for line in inputs {
            #expect(throws: DutyError.self) { try ControlRequest.decode(line) }
            #expect(throws: DutyError.self) { try ControlResponse.decode(line) }
        }
        // The huge protocol version the fuzzer found: an error naming the version, not a trap.
        #expect(throws: DutyError.self) { try ControlRequest.decode(Array(#"{"v":1e300,"op":"status"}"#.utf8)) }
    }

    @Test func spoolInputsAreReadOrRejected() throws {
        let reader = SpoolReader(decoder: ReferralDecoder(timeZone: TimeZone(identifier: "Europe/London")!))
        let inputs = try Self.inputs("spool")
        #expect(!inputs.isEmpty)
        for input in inputs {
            // As in FuzzSpool.swift: the first byte picks the format and the chunk size.
            let format: SpoolReader.Format = [.json, .jsonl, .csv][Int(input[0] % 3)]
            let chunk = 1 + Int(input[0] / 3)
            var rest = input.dropFirst()
            var records = 0
            do {
                try reader.read(
                    format: format,
                    next: {
                        defer { rest = rest.dropFirst(chunk) }
                        return rest.isEmpty ? nil : Array(rest.prefix(chunk))
                    },
                    record: { _, _ in records += 1 })
            } catch is SpoolReader.Unreadable {}
        }
    }

    @Test func configInputsGetDiagnostics() throws {
        let inputs = try Self.inputs("config")
        #expect(!inputs.isEmpty)
        for input in inputs {
            let text = String(decoding: input.dropFirst(), as: UTF8.self)
            let (roster, rosterDiagnostics) = Roster.parse(text, file: "fuzz.json5")
            #expect(roster != nil || !rosterDiagnostics.isEmpty)
            let (config, configDiagnostics) = DutyConfig.parse(text, file: "fuzz.json5")
            #expect(config != nil || !configDiagnostics.isEmpty)
        }
    }

    @Test func ruleInputsAreRejectedNotFatal() throws {
        let inputs = try Self.inputs("rules")
        #expect(!inputs.isEmpty)
        for input in inputs {
            let source = String(decoding: input, as: UTF8.self)
            for scope in [RuleScope.appliesTo, .triage, .allocation] {
                #expect(throws: RuleError.self) { try Condition(source, scope: scope) }
            }
        }
    }
}
