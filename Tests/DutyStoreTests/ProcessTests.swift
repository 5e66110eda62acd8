import DutyCore
import Foundation
import Testing

@testable import DutyStore

#if canImport(Glibc)
    import Glibc
#endif

/// The folder holding the built binaries (the store probe among them).
let binDir: String = {
    if let dir = ProcessInfo.processInfo.environment["DUTY_BIN_DIR"] { return dir }
    var url = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
    for _ in 0..<4 {
        if FileManager.default.isExecutableFile(atPath: url.appendingPathComponent("duty-store-probe").path) {
            return url.path
        }
        url.deleteLastPathComponent()
    }
    return FileManager.default.currentDirectoryPath + "/.build/debug"
}()

@Suite(.serialized) struct ProcessTests {
    /// The probe applies intake batches and reports each commit; it is killed with SIGKILL at random moments.
    /// Afterwards the database opens, passes quick_check, the chain verifies, and every batch reported committed
    /// is present exactly once.
    @Test func killedWritersLoseNothingCommitted() throws {
        let kills = ProcessInfo.processInfo.environment["DUTY_LONG"] == "1" ? 1_000 : 200
        let dir = try tempDir()
        let db = dir + "/duty.db"
        var rng = SplitMix64(seed: 20_240_910)
        var committed = Set<Int>()
        var next = 0
        var killedMidWrite = 0
        // Under a sanitizer the probe starts several times slower: time one start to its first commit and add
        // half of it to each delay, so kills still land across opening and writing.
        let startup: UInt32 = try {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: binDir + "/duty-store-probe")
            p.arguments = ["intake", dir + "/calibrate.db", "0"]
            let out = Pipe()
            p.standardOutput = out
            p.standardError = FileHandle.nullDevice
            let began = Date()
            try p.run()
            _ = out.fileHandleForReading.availableData
            let elapsed = Date().timeIntervalSince(began)
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            return UInt32(min(elapsed, 2) * 1_000_000)
        }()
        // And when the machine is busy, starts slow down further: a kill that lands before the first commit adds
        // 2 ms to later delays, one that lands mid-write takes 1 ms off again.
        var slack: UInt32 = 0
        for _ in 0..<kills {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: binDir + "/duty-store-probe")
            p.arguments = ["intake", db, String(next)]
            let out = Pipe()
            p.standardOutput = out
            p.standardError = FileHandle.nullDevice
            try p.run()
            usleep(UInt32(rng.int(5_000...90_000)) + startup / 2 + slack)
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            #expect(p.terminationReason == .uncaughtSignal)
            let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            let batches = text.split(separator: "\n").compactMap {
                $0.hasPrefix("committed ") ? Int($0.dropFirst(10)) : nil
            }
            if batches.isEmpty {
                slack = min(slack + 2_000, 200_000)
            } else {
                killedMidWrite += 1
                slack = slack >= 1_000 ? slack - 1_000 : 0
            }
            committed.formUnion(batches)
            if let last = batches.last { next = last + 1 }
        }
        #expect(killedMidWrite > kills / 2, "most kills should land while the probe is writing")
        let store = try Store(path: db)  // opens, migrates, runs quick_check
        let report = try store.verify()
        #expect(report.ok, "\(report.problem ?? "")")
        let duplicates = try store.database.rows(
            "SELECT referral, count(*) FROM events WHERE type = 'referral.received' GROUP BY referral HAVING count(*) > 1"
        )
        #expect(duplicates.isEmpty)
        for batch in committed.sorted() {
            let n = try store.database.scalar(
                "SELECT count(*) FROM events WHERE type = 'referral.received' AND referral LIKE ?",
                [.text("B\(batch)-%")])
            // As the probe makes them: every tenth batch 300 referrals (written in parts), the others 50.
            #expect(n == .int(batch % 10 == 9 ? 300 : 50), "batch \(batch)")
        }
        #expect(committed.count > 100)
        #expect(committed.contains { $0 % 10 == 9 }, "some long batches committed")
        // The projections hold exactly the referrals the log received.
        #expect(
            try store.database.scalar("SELECT count(*) FROM referrals")
                == store.database.scalar("SELECT count(*) FROM events WHERE type = 'referral.received'"))
    }

    /// `duty` reads the database while dutyd is stopped, as a user who may read but not write the state folder.
    @Test func readOnlyAccessWithoutWritePermission() throws {
        let dir = try tempDir()
        let db = dir + "/duty.db"
        do {
            let store = try Store(path: db)
            try store.write(at: t0) { tx in
                try tx.intake([referral("R-1"), referral("R-2")], source: "a.json")
                try tx.append(rated("R-1"))
            }
        }  // the writer closes: the daemon is stopped
        let fm = FileManager.default
        #expect(fm.fileExists(atPath: db + "-wal") && fm.fileExists(atPath: db + "-shm"), "WAL files are kept")
        for file in [db, db + "-wal", db + "-shm"] {
            try fm.setAttributes([.posixPermissions: 0o444], ofItemAtPath: file)
        }
        try fm.setAttributes([.posixPermissions: 0o555], ofItemAtPath: dir)
        defer { try? fm.setAttributes([.posixPermissions: 0o755], ofItemAtPath: dir) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binDir + "/duty-store-probe")
        p.arguments = ["read", db]
        let out = Pipe()
        let err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        p.waitUntilExit()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let errors = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(p.terminationStatus == 0, "\(errors)")
        let uid = getuid() == 0 ? "65534" : "\(getuid())"
        #expect(text == "uid \(uid) events 3 ok true waiting 2 timeline 2\n")
        #expect(fm.fileExists(atPath: db + "-wal"))
    }
}
