import DutyCore
import DutyStore
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Doing what the manager means (issue 17), with the real binaries.
@Suite(.serialized) struct ManagerMeansTests {
    func duty(_ d: Deployment, _ args: [String]) throws -> Result { try run("duty", ["--config", d.config] + args) }

    /// After `duty unassign`, the next cycle gives the referral to someone else: continuity does not count the
    /// allocation the manager undid, and `why` says the worker was excluded as `unassigned`.
    @Test func anUnassignIsNotUndoneByTheNextCycle() throws {
        let d = try Deployment(cycle: "1h")
        try d.makeMeTheSafeguardingManager()
        try d.drop(
            "a.jsonl",
            #"{"id":"SG-1","person":"P-1","kind":"safeguarding","received":"2024-09-10T08:00:00Z","flags":["risk_to_life"]}"#
                + "\n")
        let notify = try NotifySocket(path: d.dir + "/notify.sock")
        let p = try d.startDutyd(notify: notify)
        defer {
            p.terminate()
            p.waitUntilExit()
        }
        #expect(notify.wait(for: "READY=1") != nil)
        let first = try #require(
            try d.events().last { $0.type == "allocation.assigned" && $0.referral == "SG-1" }?.dataValue["worker"]?
                .stringValue)
        let un = try duty(d, ["unassign", "SG-1", "--reason", "wrong worker: conflict of interest"])
        #expect(un.code == 0, "\(un.err)")
        let cycle = try duty(d, ["cycle"])
        #expect(cycle.code == 0, "\(cycle.err)")
        let second = try #require(
            try d.events().last { $0.type == "allocation.assigned" && $0.referral == "SG-1" }?.dataValue["worker"]?
                .stringValue)
        #expect(second != first, "not given back to \(first)")
        let why = try duty(d, ["why", "SG-1", "--format", "json"])
        let w = try #require(JSONValue.parse(why.out.trimmingCharacters(in: .whitespacesAndNewlines)))
        guard case .array(let candidates)? = w["candidates"] else {
            Issue.record("no candidates")
            return
        }
        let excluded = candidates.first { $0["worker"]?.stringValue == first }?["excluded_by"]?.stringValue
        #expect(excluded == "unassigned", "\(candidates)")
    }

    /// A roster without w-111: `dutyd --check` warns, and on load its allocations wait again with an event and an
    /// escalation to their accountable manager.
    @Test func allocationsToARemovedWorkerWaitAgain() throws {
        let d = try Deployment()
        try FileManager.default.copyItem(
            atPath: repositoryRoot + "/systemd/roster.json5", toPath: d.dir + "/roster.json5")
        try """
        { state_dir: "state", spool_dir: "spool", policies: "policies", roster: "roster.json5", spool_settle: "0s" }
        """.write(toFile: d.config, atomically: true, encoding: .utf8)
        try d.drop(
            "a.jsonl",
            (1...8).map {
                #"{"id":"SG-\#($0)","person":"P-\#($0)","kind":"safeguarding","received":"2024-09-10T08:00:00Z","flags":["risk_to_life"],"complexity":1}"#
            }.joined(separator: "\n") + "\n")
        #expect(try d.once(at: "2024-09-10T09:00:00Z").code == 0)
        let onW111 = try Store(path: d.db, readOnly: true).allocations(worker: "w-111").map(\.id)
        #expect(!onW111.isEmpty)
        // w-111 leaves: drop their line from the roster.
        var lines = try String(contentsOfFile: d.dir + "/roster.json5", encoding: .utf8)
            .split(separator: "\n", omittingEmptySubsequences: false)
        let at = try #require(lines.firstIndex { $0.contains(#"id: "w-111""#) })
        lines.removeSubrange(at...(at + 1))  // the entry and its second line
        try lines.joined(separator: "\n").write(toFile: d.dir + "/roster.json5", atomically: true, encoding: .utf8)
        let check = try run("dutyd", ["--check", "--config", d.config])
        #expect(check.code == 0, "\(check.err)")
        #expect(
            check.err.contains("open allocation") && check.err.contains("w-111, not in this roster"), "\(check.err)")
        let r = try d.once(at: "2024-09-10T10:00:00Z")
        #expect(r.code == 0, "\(r.err)")
        #expect(r.err.contains("to w-111, no longer in the roster, returned to waiting"), "\(r.err)")
        let events = try d.events()
        for id in onW111 {
            #expect(events.contains { $0.type == "override.unassigned" && $0.referral == id })
            #expect(
                events.contains {
                    $0.type == "escalation.raised" && $0.referral == id
                        && $0.dataValue["reason"]?.stringValue == "worker_removed"
                })
        }
        #expect(try Store(path: d.db, readOnly: true).allocations(worker: "w-111").isEmpty)
    }

    /// Typos in filters are usage errors with a guess; a request dutyd refuses does not print the usage block.
    @Test func typosAreUsageErrorsAndRefusalsAreNot() throws {
        let d = try Deployment()
        #expect(try d.once(at: "2024-09-10T09:00:00Z").code == 0)
        let team = try duty(d, ["waiting", "--team", "safegaurding"])
        #expect(team.code == 64 && team.err.contains("did you mean 'safeguarding'?"))
        let type = try duty(d, ["log", "--type", "escalaton"])
        #expect(type.code == 64 && type.err.contains("did you mean 'escalation'?"))
        let level = try duty(d, ["waiting", "--level", "purple"])
        #expect(level.code == 64 && level.err.contains("no level 'purple'"))
    }
}

/// A write command that times out may still happen: it says so, and a retry does not record it twice.
@Suite(.serialized) struct WriteTimeoutTests {
    /// dutyd running on a deployment where the test's user is the safeguarding team manager, ready.
    func startedAsManager() throws -> (Deployment, Process) {
        let d = try Deployment(cycle: "1h")
        try d.makeMeTheSafeguardingManager()
        let notify = try NotifySocket(path: d.dir + "/notify.sock")
        let p = try d.startDutyd(notify: notify)
        #expect(notify.wait(for: "READY=1") != nil)
        return (d, p)
    }

    @Test func aTimedOutAbsenceIsRecordedOnceAndSaysItMayStillHappen() throws {
        let (d, p) = try startedAsManager()
        defer {
            kill(p.processIdentifier, SIGCONT)
            p.terminate()
            p.waitUntilExit()
        }
        let add = ["--config", d.config, "absence", "add", "w-111", "--from", "2030-01-06", "--to", "2030-01-10"]
        kill(p.processIdentifier, SIGSTOP)
        let stopped = try run("duty", add, environment: ["DUTY_CONTROL_TIMEOUT": "2"])
        #expect(stopped.code == 69)
        #expect(stopped.err.contains("the command may still happen"), "\(stopped.err)")
        kill(p.processIdentifier, SIGCONT)
        let retry = try run("duty", add)
        #expect(retry.code == 0, "\(retry.err)")
        #expect(retry.out.contains("already recorded"), "\(retry.out)")
        let recorded = try d.events().filter {
            $0.type == "absence.recorded" && $0.dataValue["worker"]?.stringValue == "w-111"
        }
        #expect(recorded.count == 1)
    }

    /// Every write carries a request id: a retry of a timed-out write with `DUTY_REQUEST_ID` is answered, not done
    /// twice (a review has no natural key: without the id the retry recorded a second review).
    @Test func aRetriedReviewWithItsRequestIDIsRecordedOnce() throws {
        let (d, p) = try startedAsManager()
        defer {
            kill(p.processIdentifier, SIGCONT)
            p.terminate()
            p.waitUntilExit()
        }
        // Nobody in safeguarding is in: SG-1 waits.
        for w in ["w-110", "w-111", "w-112", "w-113", "w-114", "w-115", "w-116"] {
            #expect(
                try run("duty", ["--config", d.config, "absence", "add", w, "--from", "-1d", "--to", "+7d"]).code == 0)
        }
        try d.drop(
            "a.jsonl", #"{"id":"SG-1","person":"P-1","kind":"safeguarding","received":"2024-09-10T08:00:00Z"}"# + "\n")
        #expect(try run("duty", ["--config", d.config, "cycle"]).code == 0)
        let review = ["--config", d.config, "reviewed", "SG-1", "--note", "phoned; no change"]
        kill(p.processIdentifier, SIGSTOP)
        let stopped = try run("duty", review, environment: ["DUTY_CONTROL_TIMEOUT": "2"])
        #expect(stopped.code == 69)
        let id = try #require(
            stopped.err.range(of: "DUTY_REQUEST_ID=").map { String(stopped.err[$0.upperBound...].prefix(36)) },
            "\(stopped.err)")
        kill(p.processIdentifier, SIGCONT)
        let retry = try run("duty", review, environment: ["DUTY_REQUEST_ID": id])
        #expect(retry.code == 0 && retry.out.contains("review of SG-1 recorded"), "\(retry.err)")
        let again = try run("duty", review)  // a new request: a second review, as asked
        #expect(again.code == 0)
        #expect(try d.events().filter { $0.type == "review.recorded" }.count == 2)
    }
}

extension Deployment {
    /// The example roster with the safeguarding team manager (w-100) as whoever runs the test, a cycle an hour.
    func makeMeTheSafeguardingManager() throws {
        let me = String(cString: getpwuid(getuid())!.pointee.pw_name)
        try String(contentsOfFile: repositoryRoot + "/systemd/roster.json5", encoding: .utf8)
            .replacingOccurrences(of: #"unix_user: "mhale""#, with: #"unix_user: "\#(me)""#)
            .write(toFile: dir + "/roster.json5", atomically: true, encoding: .utf8)
        try """
        { state_dir: "state", spool_dir: "spool", policies: "policies", roster: "roster.json5", cycle: "1h" }
        """.write(toFile: config, atomically: true, encoding: .utf8)
    }
}
