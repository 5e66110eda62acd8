import DutyCore
import Foundation
import Testing

let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().path

/// The folder holding the built `duty` and `dutyd`: `$DUTY_BIN_DIR`, else beside the test bundle.
let binDir: String = {
    if let dir = ProcessInfo.processInfo.environment["DUTY_BIN_DIR"] { return dir }
    var url = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
    for _ in 0..<4 {
        if FileManager.default.isExecutableFile(atPath: url.appendingPathComponent("duty").path) { return url.path }
        url.deleteLastPathComponent()
    }
    return repositoryRoot + "/.build/debug"
}()

struct Result {
    var code: Int32
    var out: String
    var err: String
}

/// Runs a built binary with arguments and optional stdin, and waits for it.
func run(
    _ binary: String, _ args: [String], stdin: String? = nil, environment: [String: String] = [:],
    absolute: Bool = false
) throws -> Result {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: absolute ? binary : binDir + "/" + binary)
    p.arguments = args
    var env = ProcessInfo.processInfo.environment
    env["DUTY_CONFIG"] = nil
    env["NO_COLOR"] = nil
    for (k, v) in environment { env[k] = v }
    p.environment = env
    let out = Pipe()
    let err = Pipe()
    let input = Pipe()
    p.standardOutput = out
    p.standardError = err
    p.standardInput = input
    try p.run()
    if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
    try input.fileHandleForWriting.close()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return Result(
        code: p.terminationStatus, out: String(decoding: o, as: UTF8.self), err: String(decoding: e, as: UTF8.self))
}

func tempDir() throws -> String {
    let dir = NSTemporaryDirectory() + "duty-it-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

@Suite struct BinaryTests {
    let policies = repositoryRoot + "/policies"
    let roster = repositoryRoot + "/systemd/roster.json5"

    @Test func versions() throws {
        let duty = try run("duty", ["--version"])
        #expect(duty.code == 0 && duty.out == "duty \(DutyVersion.string)\n")
        let dutyd = try run("dutyd", ["--version"])
        #expect(dutyd.code == 0 && dutyd.out == "dutyd \(DutyVersion.string)\n")
        let help = try run("dutyd", ["--help"])
        #expect(help.code == 0 && help.out.hasPrefix("dutyd: the duty daemon"))
    }

    @Test func shippedPoliciesCheckWithTheExampleRoster() throws {
        let r = try run("duty", ["policy", "check", "--policies", policies, "--roster", roster])
        #expect(r.code == 0, "\(r.err)")
        #expect(r.err.isEmpty)
    }

    @Test func simulateSeveralCouncils() throws {
        let scenario = repositoryRoot + "/policies/scenarios/england-2023-24.json5"
        let r = try run("duty", ["simulate", scenario, "--councils", "2", "--days", "15", "--format", "json"])
        #expect(r.code == 0, "\(r.err)")
        let report = try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any]
        #expect(report?["councils"] as? Int == 2 && report?["days"] as? Int == 15)
        let table = try run("duty", ["simulate", scenario, "--councils", "2", "--days", "15"])
        #expect(table.out.hasPrefix("2 councils, 15 days, "), "\(table.out)")
        let bad = try run("duty", ["simulate", scenario, "--councils", "0"])
        #expect(bad.code == 64 && bad.err.contains("--councils takes 1 to 1000"))
    }

    @Test func dutydCheckValidatesADeployment() throws {
        let dir = try tempDir()
        let conf = dir + "/dutyd.conf"
        try "{ state_dir: 'state', spool_dir: 'spool', policies: '\(policies)', roster: '\(roster)' }"
            .write(toFile: conf, atomically: true, encoding: .utf8)
        let ok = try run("dutyd", ["--check", "--config", conf])
        #expect(ok.code == 0, "\(ok.err)")
        #expect(ok.out == "ok: config \(conf), roster \(roster), policies \(policies)\n")

        let badText =
            "{ state_dir: 'state', spool_dir: 'spool', policies: 'nowhere', roster: '\(roster)', cycle: '1 min' }"
        try badText.write(toFile: conf, atomically: true, encoding: .utf8)
        let column = badText.distance(from: badText.startIndex, to: badText.range(of: "'1 min'")!.lowerBound) + 1
        let bad = try run("dutyd", ["--check"], environment: ["DUTY_CONFIG": conf])
        #expect(bad.code == 65)
        #expect(bad.err.hasPrefix("\(conf):1:\(column): 'cycle' in the config: invalid duration '1 min'"))
        let usage = try run("dutyd", ["--chek"])
        #expect(usage.code == 64 && usage.err.hasPrefix("dutyd: unknown option '--chek'; did you mean '--check'?"))
    }

    @Test func explainFromStandardInput() throws {
        let referral =
            #"[{"id":"SG-1","person":"P-1","kind":"safeguarding","received":"2024-09-10T08:00:00Z","flags":["care_breakdown"]}]"#
        let r = try run(
            "duty",
            [
                "policy", "explain", "-", "--policies", policies, "--roster", roster, "--at", "2024-09-10T09:00:00Z",
                "--format", "json",
            ],
            stdin: referral)
        #expect(r.code == 0, "\(r.err)")
        let object = try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any]
        #expect(object?["level"] as? String == "red")
        #expect(object?["due"] as? String == "2024-09-11T08:00:00Z")
        #expect((object?["rules"] as? [[String: Any]])?.first?["id"] as? String == "SG-R3")
    }

    @Test func exitCodesForErrorClasses() throws {
        #expect(try run("duty", ["nonsense"]).code == 64)
        #expect(try run("duty", ["--config", "/nonexistent.conf", "policy", "check"]).code == 66)
        let dir = try tempDir()
        try "{ nope".write(toFile: dir + "/bad.conf", atomically: true, encoding: .utf8)
        let bad = try run("duty", ["--config", dir + "/bad.conf", "policy", "check"])
        #expect(bad.code == 65)
        #expect(bad.err.hasPrefix("\(dir)/bad.conf:1:7: expected ':' after key 'nope'"))
    }
}
