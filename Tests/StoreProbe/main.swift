import DutyCore
import DutyStore
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

// A helper process for the store's tests (not installed):
//   duty-store-probe intake DB FIRST   applies intake batches FIRST, FIRST+1, ... of 50 referrals (300 every tenth), printing
//                                      "committed N" after each commit, until killed
//   duty-store-probe read DB           drops to the nobody user when root, opens DB read-only, prints counts

/// Unbuffered, so a line is out before the process can be killed.
func say(_ line: String) { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }

let args = CommandLine.arguments
guard args.count >= 3 else {
    FileHandle.standardError.write(Data("usage: duty-store-probe intake DB FIRST | read DB\n".utf8))
    exit(64)
}
let path = args[2]
do {
    switch args[1] {
    case "intake":
        let store = try Store(path: path)
        var batch = Int(args.count > 3 ? args[3] : "0") ?? 0
        let t0 = Date(timeIntervalSince1970: 1_725_958_800)
        while true {
            let referrals = (0..<probeBatchSize(batch)).map { i in
                Referral(
                    id: "B\(batch)-\(i)", person: "P-\(i)", kind: "safeguarding", team: "sg",
                    received: t0.addingTimeInterval(Double(batch)), flags: i % 3 == 0 ? ["risk_to_life"] : [],
                    facts: ["n": .number(Double(i))], complexity: 1 + i % 5)
            }
            try store.write(at: t0.addingTimeInterval(Double(batch))) { tx in
                _ = try tx.intake(referrals, source: "batch-\(batch).jsonl")
            }
            say("committed \(batch)")
            batch += 1
        }
    case "read":
        if getuid() == 0 {
            guard setgid(65_534) == 0, setuid(65_534) == 0 else {
                FileHandle.standardError.write(Data("cannot drop privileges\n".utf8))
                exit(1)
            }
        }
        let store = try Store(path: path, readOnly: true)
        let report = try store.verify()
        let waiting = try store.waiting().count
        let timeline = try store.timeline("R-1").count
        say("uid \(getuid()) events \(report.events) ok \(report.ok) waiting \(waiting) timeline \(timeline)")
    default:
        exit(64)
    }
} catch let error as DutyError {
    FileHandle.standardError.write(Data("probe: \(error)\n".utf8))
    exit(error.code.exitCode)
} catch {
    FileHandle.standardError.write(Data("probe: \(error)\n".utf8))
    exit(1)
}

/// Every tenth batch is long enough (300 referrals) to be written in parts prepared on another thread; the
/// others have 50. ProcessTests expects the same sizes.
func probeBatchSize(_ batch: Int) -> Int { batch % 10 == 9 ? 300 : 50 }
