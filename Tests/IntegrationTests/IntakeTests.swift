import DutyCore
import DutyStore
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The intake spool against real spreadsheet exports and hostile files (issue 14): each kind dropped into a
/// real `dutyd --once`, with what a manager or administrator would expect to find afterwards.
@Suite(.serialized) struct IntakeTests {
    func writeBytes(_ d: Deployment, _ name: String, _ bytes: [UInt8]) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: d.incoming + "/" + name))
    }

    func errors(_ d: Deployment, _ name: String) throws -> JSONValue {
        let text = try String(contentsOfFile: d.dir + "/spool/rejected/\(name).errors.json", encoding: .utf8)
        return try #require(JSONValue.parse(text.trimmingCharacters(in: .whitespacesAndNewlines)))
    }

    func messages(_ e: JSONValue) -> [String] {
        guard case .array(let list)? = e["errors"] else { return [] }
        return list.compactMap { $0["message"]?.stringValue }
    }

    func received(_ d: Deployment) throws -> [String: JSONValue] {
        var out: [String: JSONValue] = [:]
        for e in try d.events() where e.type == "referral.received" { out[e.referral ?? ""] = e.dataValue }
        return out
    }

    let now = "2024-09-10T09:00:00Z"

    @Test func byteOrderMarkIsIgnored() throws {
        let d = try Deployment()
        try writeBytes(
            d, "bom.csv",
            [0xEF, 0xBB, 0xBF]
                + Array("id,person,kind,received,flags\nSG-1,P-1001,safeguarding,2024-09-02,risk_to_life\n".utf8))
        #expect(try d.once(at: now).code == 0)
        #expect(d.exists("spool/processed/bom.csv"))
        #expect(try received(d)["SG-1"]?["flags"]?.serialized() == #"["risk_to_life"]"#)
    }

    @Test func emptyTrailingColumnsAndSeparatorRowsAreIgnored() throws {
        let d = try Deployment()
        try d.drop(
            "trail.csv",
            "id,person,kind,received,flags,,\nSG-2,P-1002,safeguarding,2024-09-02,risk_to_life,,\n,,,,,,\n,,,,,,\nSG-3,P-1003,safeguarding,2024-09-02,\n"
        )
        try d.drop("extra.csv", "id,person,kind,received,,\nSG-4,P-1004,safeguarding,2024-09-02,,oops\n")
        let r = try d.once(at: now)
        #expect(r.code == 0)
        #expect(d.exists("spool/processed/trail.csv"))
        #expect(r.err.contains("trail.csv: 2 empty rows skipped"))
        let got = try received(d)
        #expect(got["SG-2"] != nil && got["SG-3"] != nil)
        // A value in a column the header does not name is an error for that row, not silently dropped.
        #expect(got["SG-4"] == nil)
        #expect(messages(try errors(d, "extra.csv")) == ["column 6 has no name in the header but holds 'oops'"])
    }

    @Test func spreadsheetNumbersAreNumbersAndWrongTypesAreRecordErrors() throws {
        let d = try Deployment()
        // CA-A3: 'lives_alone' in flags and (complexity >= 4 or facts.age >= 85): amber when age 86 is a number.
        try d.drop(
            "ages.csv",
            "id,person,kind,received,flags,fact.age\nCA-1,P-1,care_act_assessment,2024-09-09,lives_alone, 86 \nCA-2,P-2,care_act_assessment,2024-09-09,lives_alone,eighty\n"
        )
        #expect(try d.once(at: now).code == 0)
        let got = try received(d)
        #expect(got["CA-1"]?["facts"]?.serialized() == #"{"age":86}"#)
        #expect(got["CA-2"] == nil)
        #expect(messages(try errors(d, "ages.csv")) == ["the policies use it as a number, not the text 'eighty'"])
        let rated = try d.events().first { $0.type == "triage.rated" && $0.referral == "CA-1" }
        #expect(rated?.dataValue["level"]?.stringValue == "amber")
    }

    @Test func unknownFlagsAreRecordErrorsWithAGuess() throws {
        let d = try Deployment()
        try d.drop(
            "flags.jsonl",
            """
            {"id":"DL-1","person":"P-9","kind":"dols","received":"2024-09-02","flags":["renewl"]}
            {"id":"DL-2","person":"P-9","kind":"dols","received":"2024-09-02","flags":["objection"]}

            """)
        #expect(try d.once(at: now).code == 0)
        let got = try received(d)
        #expect(got["DL-1"] == nil && got["DL-2"] != nil)
        let m = messages(try errors(d, "flags.jsonl"))
        #expect(m.count == 1 && m[0].hasPrefix("unknown flag 'renewl'") && m[0].contains("did you mean 'renewal'?"))
        // `policy check --sample` says the same of a sample file.
        let check = try run(
            "duty", ["--config", d.config, "policy", "check", "--sample", d.dir + "/spool/rejected/flags.jsonl"])
        #expect(
            (check.out + check.err).contains("intake would refuse this record: unknown flag 'renewl'"),
            "\(check.out)\(check.err)")
    }

    @Test func implausibleDatesAreRecordErrors() throws {
        let d = try Deployment()
        try d.drop(
            "dates.jsonl",
            """
            {"id":"R-1","person":"P-1","kind":"review","received":"9999-01-01"}
            {"id":"R-2","person":"P-2","kind":"review","received":"0001-01-01"}
            {"id":"R-3","person":"P-3","kind":"review","received":"2024-09-10T20:00:00Z"}

            """)
        #expect(try d.once(at: now).code == 0)
        let got = try received(d)
        #expect(got["R-1"] == nil && got["R-2"] == nil && got["R-3"] != nil, "later today is within the tolerance")
        #expect(
            messages(try errors(d, "dates.jsonl")) == [
                "'9999-01-01' is more than a day in the future: check the date and the sender's clock",
                "'0001-01-01' is before 1990-01-01: check the date",
            ])
    }

    /// The log, the errors file and the store agree: the cut record is one bad record and is not stored.
    @Test func aCSVEndingInsideAQuotedFieldStoresNothingTruncated() throws {
        let d = try Deployment()
        try d.drop(
            "quote.csv",
            "id,person,kind,received,fact.note\nSG-5,P-5,safeguarding,2024-09-02,ok\nSG-6,P-6,safeguarding,2024-09-02,\"cut short"
        )
        let r = try d.once(at: now)
        #expect(r.err.contains("quote.csv: 1 bad record rejected"))
        let e = try errors(d, "quote.csv")
        #expect(e["bad_records"]?.intValue == 1 && e["unreadable"]?.isNull == true)
        #expect(messages(e).first?.hasPrefix("the file ends inside a quoted field") == true)
        let got = try received(d)
        #expect(got["SG-5"] != nil && got["SG-6"] == nil)
        #expect(try d.events().filter { $0.type == "intake.rejected" }.count == 1)
    }

    /// A file written in place (no `.tmp` rename) is not read while it grows: half of it is never stored.
    @Test func aFileStillBeingWrittenIsNotReadHalfWritten() throws {
        let d = try Deployment()
        let path = d.incoming + "/slow.csv"
        try
            "id,person,kind,received,fact.note\nSG-7,P-7,safeguarding,2024-09-02,first\nSG-8,P-8,safeguarding,2024-09-02,sec"
            .write(toFile: path, atomically: false, encoding: .utf8)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binDir + "/dutyd")
        p.arguments = ["--config", d.config, "--once", "--now", now]
        p.standardError = FileHandle.nullDevice
        try p.run()
        usleep(300_000)
        let handle = try #require(FileHandle(forWritingAtPath: path))
        handle.seekToEndOfFile()
        handle.write(Data("ond\n".utf8))
        try handle.close()
        p.waitUntilExit()
        #expect(try received(d)["SG-8"] == nil, "nothing from a file that was still changing")
        #expect(d.exists("spool/incoming/slow.csv"))
        #expect(try d.once(at: now).code == 0)
        #expect(try received(d)["SG-8"]?["facts"]?.serialized() == #"{"note":"second"}"#)
        #expect(d.exists("spool/processed/slow.csv"))
    }

    @Test func linksFIFOsAndDevicesAreRejectedUnread() throws {
        let d = try Deployment()
        let secret = d.dir + "/secret.txt"
        try "TOP-SECRET-LINE\n".write(toFile: secret, atomically: true, encoding: .utf8)
        chmod(secret, 0o600)
        #expect(symlink(secret, d.incoming + "/leak.csv") == 0)
        #expect(symlink("/dev/zero", d.incoming + "/zero.jsonl") == 0)
        #expect(mkfifo(d.incoming + "/fifo.jsonl", 0o600) == 0)
        try d.drop("good.jsonl", #"{"id":"R-9","person":"P-9","kind":"review","received":"2024-09-02"}"# + "\n")
        let start = Date()
        let r = try d.once(at: now)
        #expect(r.code == 0 && Date().timeIntervalSince(start) < 20, "nothing blocks the cycle")
        #expect(try received(d)["R-9"] != nil, "the engine still runs on everything else")
        for (name, what) in [
            ("leak.csv", "a symbolic link"), ("zero.jsonl", "a symbolic link"), ("fifo.jsonl", "a FIFO"),
        ] {
            let e = try errors(d, name)
            #expect(e["unreadable"]?.stringValue == "\(what): the spool reads only regular files, never through a link")
            var info = stat()
            #expect(lstat(d.dir + "/spool/rejected/" + name, &info) == 0, "\(name) moved aside as it was")
        }
        let everything = try d.events().map { $0.data }.joined() + r.err
        #expect(!everything.contains("TOP-SECRET"))
    }

    @Test func recordsAndFilesHaveSizeLimits() throws {
        let d = try Deployment()
        try """
        { state_dir: "state", spool_dir: "spool", policies: "policies", roster: "\(repositoryRoot)/systemd/roster.json5",
          cycle: "60s", spool_max_file_mib: 2 }
        """.write(toFile: d.config, atomically: true, encoding: .utf8)
        let huge = String(repeating: "x", count: (1 << 20) + 10)
        try d.drop(
            "big-record.jsonl",
            #"{"id":"R-1","person":"P-1","kind":"review","received":"2024-09-02","facts":{"note":"\#(huge)"}}"#
                + "\n" + #"{"id":"R-2","person":"P-2","kind":"review","received":"2024-09-02"}"# + "\n")
        try d.drop("big-file.jsonl", String(repeating: " \n", count: 3 << 20))
        #expect(try d.once(at: now).code == 0)
        let got = try received(d)
        #expect(got["R-1"] == nil && got["R-2"] != nil)
        #expect(messages(try errors(d, "big-record.jsonl")) == ["the record is longer than 1 MiB"])
        #expect(
            try errors(d, "big-file.jsonl")["unreadable"]?.stringValue
                == "the file is larger than the 2 MiB limit: split it")
    }

    @Test func namesThatCannotBeMovedAsTheyAreGetASafeOne() throws {
        let d = try Deployment()
        let long = String(repeating: "a", count: 240) + ".jsonl"
        let line = #"{"id":"R-1","person":"P-1","kind":"review","received":"2024-09-02"}"# + "\n"
        try d.drop(long, line)
        try d.drop("evil\ndutyd: notice: forged\u{1b}[2J.jsonl", line)
        let r = try d.once(at: now)
        #expect(r.code == 0)
        let processed = try FileManager.default.contentsOfDirectory(atPath: d.dir + "/spool/processed")
        #expect(processed.contains("evil_dutyd: notice: forged_[2J.jsonl.20240910T090000Z"), "\(processed)")
        #expect(
            processed.contains {
                $0.hasPrefix("aaaa") && $0.hasSuffix(".jsonl.20240910T090000Z") && $0.utf8.count <= 243
            })
        #expect(!r.err.contains("\u{1b}") && !r.err.contains("\nforged"))
        // The same name every cycle: each keeps its own copy, found without a search.
        for minute in 1...3 {
            try d.drop("referrals.jsonl", line)
            #expect(try d.once(at: "2024-09-10T09:0\(minute):00Z").code == 0)
        }
        let copies = try FileManager.default.contentsOfDirectory(atPath: d.dir + "/spool/processed").filter {
            $0.hasPrefix("referrals.jsonl")
        }
        #expect(
            copies.sorted() == [
                "referrals.jsonl", "referrals.jsonl.20240910T090200Z", "referrals.jsonl.20240910T090300Z",
            ])
    }

    /// A file whose errors file cannot be written (a folder stands in its way): logged once, left alone until it
    /// changes, and the rest of the spool and the engine go on.
    @Test func aFileThatCannotBeFiledNeverStopsTheCycle() throws {
        let d = try Deployment()
        #expect(try d.once(at: now).code == 0)  // creates the folders
        try FileManager.default.createDirectory(
            atPath: d.dir + "/spool/rejected/bad.jsonl.errors.json", withIntermediateDirectories: true)
        try d.drop("bad.jsonl", #"{"id":"X-1"}"# + "\n")
        try d.drop(
            "good.jsonl",
            #"{"id":"SG-1","person":"P-1","kind":"safeguarding","received":"2024-09-02","flags":["risk_to_life"]}"#
                + "\n")
        let first = try d.once(at: now)
        #expect(first.code == 0, "\(first.err)")
        #expect(
            first.err.contains("bad.jsonl left in incoming/") || first.err.contains("spool: bad.jsonl"), "\(first.err)")
        #expect(try d.events().contains { $0.type == "allocation.assigned" && $0.referral == "SG-1" })
        #expect(d.exists("spool/processed/good.jsonl"))
    }

    @Test func theFileOwnerIsRecorded() throws {
        let d = try Deployment()
        try d.drop("a.jsonl", #"{"id":"R-1","person":"P-1","kind":"review","received":"2024-09-02"}"# + "\n")
        if getuid() == 0 { chown(d.incoming + "/a.jsonl", 4_321, 4_321) }
        #expect(try d.once(at: now).code == 0)
        let owner = try #require(try received(d)["R-1"]?["file_owner"])
        #expect(owner["uid"]?.intValue == Int64(getuid() == 0 ? 4_321 : getuid()))
        #expect(owner["worker"]?.isNull == true)
    }

    @Test func dataThatWouldHarmItsReadersIsNeutralised() throws {
        let d = try Deployment()
        try d.drop(
            "harm.jsonl",
            """
            {"id":"R-1","person":"=cmd|'/c calc'!A1","kind":"review","received":"2024-09-02","facts":{"note":"a\\u001b[31mred\\rw-100 acknowledged"}}
            {"id":"R-2","person":"P-\\u001b[2J","kind":"review","received":"2024-09-02"}
            {"id":"R-3","person":"P-3","kind":"review","received":"2024-09-02","facts":{"nul":"a\\u0000b"}}

            """)
        #expect(try d.once(at: now).code == 0)
        let got = try received(d)
        #expect(got["R-1"] != nil && got["R-2"] == nil && got["R-3"] == nil)
        #expect(
            messages(try errors(d, "harm.jsonl")) == [
                "must not contain control characters", "must not contain a NUL character",
            ])
        let csv = try run("duty", ["--config", d.config, "export", "--format", "csv"])
        #expect(csv.out.contains("'=cmd|'/c calc'!A1") && !csv.out.contains(",=cmd"), "\(csv.out)")
        let json = try run("duty", ["--config", d.config, "export", "--format", "json"])
        #expect(json.out.contains(#""=cmd|'/c calc'!A1""#))
        let show = try run("duty", ["--config", d.config, "show", "R-1"])
        #expect(!show.out.contains("\u{1b}") && !show.out.contains("\r"))
        #expect(show.out.contains(#"a\u{1b}[31mred\u{d}w-100 acknowledged"#), "\(show.out)")
    }

    @Test func invalidUTF8InACSVIsAnErrorWithItsPlace() throws {
        let d = try Deployment()
        try writeBytes(
            d, "latin1.csv",
            Array("id,person,kind,received,fact.town\nR-1,P-1,review,2024-09-02,".utf8) + [0x4D, 0xFC, 0x6E, 0x0A]
                + Array("R-2,P-2,review,2024-09-02,Bath\n".utf8))
        #expect(try d.once(at: now).code == 0)
        let e = try errors(d, "latin1.csv")
        guard case .array(let list)? = e["errors"] else {
            Issue.record("no errors")
            return
        }
        #expect(list.count == 1 && list[0]["line"]?.intValue == 2)
        #expect(list[0]["message"]?.stringValue == "field 5 is not valid UTF-8: save the file as UTF-8")
        #expect(try received(d)["R-2"] != nil)
    }
}

/// What an attacker found in the first version (a helper's report): each now a test.
@Suite(.serialized) struct IntakeRegressionTests {
    let now = "2024-09-10T09:00:00Z"

    func errorMessages(_ d: Deployment, _ name: String) throws -> [String] {
        let text = try String(contentsOfFile: d.dir + "/spool/rejected/\(name).errors.json", encoding: .utf8)
        guard case .array(let list)? = JSONValue.parse(text)?["errors"] else { return [] }
        return list.compactMap { $0["message"]?.stringValue }
    }

    func ids(_ d: Deployment) throws -> Set<String> {
        Set(try d.events().filter { $0.type == "referral.received" }.compactMap(\.referral))
    }

    /// A quote inside an unquoted field (O"Brien) is text: it cannot swallow the rows after it.
    @Test func aStrayQuoteIsText() throws {
        let d = try Deployment()
        try d.drop(
            "q.csv",
            "id,person,kind,received\nA1,O\"Brien,review,2024-09-09\nA2,Smith,review,2024-09-09\nA3,\"Jones, J\",review,2024-09-09\n"
        )
        #expect(try d.once(at: now).code == 0)
        #expect(try ids(d) == ["A1", "A2", "A3"])
        #expect(d.exists("spool/processed/q.csv"))
    }

    /// The same id twice in one file: the second is an error (which one the sender meant is unknown).
    @Test func anIdTwiceInOneFileIsARecordError() throws {
        let d = try Deployment()
        try d.drop(
            "dup.jsonl",
            """
            {"id":"D1","person":"P1","kind":"review","received":"2024-09-02"}
            {"id":"D1","person":"P2","kind":"safeguarding","received":"2024-09-02"}

            """)
        #expect(try d.once(at: now).code == 0)
        #expect(try errorMessages(d, "dup.jsonl") == ["'D1' appears twice in this file (first at line 1)"])
        let received = try d.events().first { $0.type == "referral.received" && $0.referral == "D1" }
        #expect(received?.dataValue["person"]?.stringValue == "P1")
    }

    @Test func aFactTwiceIsAnErrorAndAHugeJSONRecordIsRefused() throws {
        let d = try Deployment()
        try d.drop(
            "facts.json",
            #"{"id":"R1","person":"P1","kind":"review","received":"2024-09-02","facts":{"months_since_review":13,"months_since_review":1}}"#
        )
        try d.drop(
            "big.json",
            #"{"id":"R2","person":"P2","kind":"review","received":"2024-09-02","facts":{"note":"\#(String(repeating: "x", count: (1 << 20) + 1))"}}"#
        )
        #expect(try d.once(at: now).code == 0)
        #expect(try errorMessages(d, "facts.json") == ["appears twice"])
        #expect(try errorMessages(d, "big.json") == ["the record is longer than 1 MiB"])
        #expect(try ids(d).isEmpty)
    }

    /// A name that is not UTF-8 (Latin-1 from a Windows share) is refused with its reason, not ignored forever.
    @Test func aNameThatIsNotUTF8IsRejectedNotIgnored() throws {
        let d = try Deployment()
        let name: [UInt8] = Array("r".utf8) + [0xE9] + Array("f.jsonl".utf8)
        let path = (Array((d.incoming + "/").utf8) + name).map { CChar(bitPattern: $0) } + [0]
        let fd = open(path, O_WRONLY | O_CREAT, 0o644)
        #expect(fd >= 0)
        let line = Array(#"{"id":"R1","person":"P1","kind":"review","received":"2024-09-02"}"#.utf8)
        _ = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
        let r = try d.once(at: now)
        #expect(r.code == 0)
        #expect(r.err.contains("not valid UTF-8"), "\(r.err)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: d.incoming).isEmpty)
    }

    /// A rejected file named like another's errors file is never overwritten by that errors file.
    @Test func anErrorsFileNeverOverwritesARejectedFile() throws {
        let d = try Deployment()
        try d.drop("a.json.errors.json", "not json")
        #expect(try d.once(at: now).code == 0)
        try d.drop("a.json", "not json either")
        #expect(try d.once(at: "2024-09-10T09:01:00Z").code == 0)
        let kept = try String(contentsOfFile: d.dir + "/spool/rejected/a.json.errors.json", encoding: .utf8)
        #expect(kept == "not json", "the first file is still there as sent")
    }

    /// One dutyd per state folder: a manual `--once` beside a running daemon is refused, and the daemon goes on.
    @Test func aSecondDutydIsRefused() throws {
        let d = try Deployment(cycle: "1h")
        let notify = try NotifySocket(path: d.dir + "/notify.sock")
        let p = try d.startDutyd(notify: notify)
        defer { if p.isRunning { p.terminate() } }
        #expect(notify.wait(for: "READY=1") != nil)
        let r = try d.once(at: now)
        #expect(r.code == 69, "\(r.err)")
        #expect(r.err.contains("another dutyd (pid \(p.processIdentifier)) is running"), "\(r.err)")
        try d.drop("a.jsonl", #"{"id":"R1","person":"P1","kind":"review","received":"2024-09-02"}"# + "\n")
        kill(p.processIdentifier, SIGUSR1)
        #expect(notify.wait(for: "STATUS=waiting") != nil)
        #expect(try ids(d) == ["R1"])
    }

    @Test func invisibleReorderingCharactersAreEscaped() {
        #expect(ReferralDecoder.escapingControlCharacters("a\u{202E}b\u{2028}c") == #"a\u{202e}b\u{2028}c"#)
        #expect(ReferralDecoder.hasControlCharacter("P-\u{202E}1"))
    }
}

/// `spool_group`, and skills nobody holds.
@Suite(.serialized) struct SpoolGroupTests {
    @Test func spoolGroupOwnsIncomingAndAnUnknownGroupIsAClearError() throws {
        let d = try Deployment()
        guard let group = getgrgid(getgid()).map({ String(cString: $0.pointee.gr_name) }) else { return }
        try """
        { state_dir: "state", spool_dir: "spool", policies: "policies", roster: "\(repositoryRoot)/systemd/roster.json5",
          cycle: "60s", spool_group: "\(group)" }
        """.write(toFile: d.config, atomically: true, encoding: .utf8)
        #expect(try d.once(at: "2024-09-10T09:00:00Z").code == 0)
        var info = stat()
        #expect(stat(d.incoming, &info) == 0)
        #expect(info.st_gid == getgid() && info.st_mode & 0o7777 == 0o2770)
        try """
        { state_dir: "state", spool_dir: "spool", policies: "policies", roster: "\(repositoryRoot)/systemd/roster.json5",
          cycle: "60s", spool_group: "no-such-group-here" }
        """.write(toFile: d.config, atomically: true, encoding: .utf8)
        let r = try d.once(at: "2024-09-10T09:00:00Z")
        #expect(r.code != 0 && r.err.contains("spool_group 'no-such-group-here' does not exist"), "\(r.err)")
    }

    @Test func aSkillNobodyHoldsIsAcceptedAndSaid() throws {
        let d = try Deployment()
        try d.drop(
            "a.jsonl",
            #"{"id":"DL-1","person":"P-1","kind":"dols","received":"2024-09-02","skills":["BIA"]}"# + "\n")
        let r = try d.once(at: "2024-09-10T09:00:00Z")
        #expect(r.code == 0)
        #expect(
            r.err.contains(
                "spool: a.jsonl: DL-1 requires skill 'BIA', which no worker in the roster holds (did you mean 'bia'?)"),
            "\(r.err)")
        #expect(d.exists("spool/processed/a.jsonl"))
    }
}
