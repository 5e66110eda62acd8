import DutyCore
import DutyStore
import Foundation

/// `duty verify`: the hash chain, heads published outside the database, and (`--deep`) the projections.
extension ReadCommands {
    static let verify = CommandSpec(
        name: "verify", summary: "check the allocation log's hash chain",
        options: [
            OptionSpec(
                long: "checkpoint", value: "SEQ:HASH", help: "a head kept elsewhere: the log must still hold it"),
            OptionSpec(
                long: "anchors", value: "FILE",
                help: "published heads (any lines with SEQ:HASH, e.g. dutyd's 'log head' journal lines; - for stdin)"),
            OptionSpec(long: "against-journal", help: "the heads dutyd logged to the journal (journalctl -u dutyd)"),
            OptionSpec(long: "deep", help: "also rebuild every projection from the log and compare"),
            formatOption("text or json"),
        ],
        discussion: """
            Exit 0 when the chain verifies, 65 with the first bad seq when not. Against published heads (from
            --checkpoint, --anchors or --against-journal) each head must still be in the log with its hash and the
            log must reach the highest: a cut tail is found. --deep replays the log into a scratch database and
            compares every projection table: an edit of the state dutyd allocates from is found.
            """,
        examples: [
            "duty verify",
            "duty verify --checkpoint 120394:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
            "duty verify --against-journal --deep",
            "journalctl -u dutyd -o cat | duty verify --anchors -",
        ],
        run: { inv throws(DutyError) in
            let format = try inv.format(["text", "table", "json"])
            var anchors: [Checkpoint] = []
            if let c = inv.value("checkpoint") {
                guard let parsed = Checkpoint(parsing: c) else {
                    throw DutyError(.usage, "--checkpoint takes SEQ:HASH (64 hex digits)", cause: "verify")
                }
                anchors.append(parsed)
            }
            if let file = inv.value("anchors") { anchors += try Self.anchors(in: try Self.read(file)) }
            if inv.flag("against-journal") { anchors += try Self.anchors(in: try Self.journal()) }
            let ctx = try ReadContext(inv)
            let report = try ctx.reading { try ctx.store.verify(anchors: anchors) }
            var differences: [ProjectionDifference] = []
            if inv.flag("deep") && report.ok {
                differences = try ctx.reading { try ctx.store.verifyProjections(scratch: NSTemporaryDirectory()) }
            }
            if format == "json" {
                inv.console.out(
                    JSONValue.object([
                        ("ok", .bool(report.ok && differences.isEmpty)), ("events", .int(report.events)),
                        ("head_seq", .int(report.headSeq)), ("head_hash", .string(report.headHash)),
                        ("first_bad_seq", report.firstBadSeq.map { .int($0) } ?? .null),
                        ("problem", .string(report.problem)), ("anchors", .int(Int64(anchors.count))),
                        (
                            "projections",
                            inv.flag("deep")
                                ? .array(
                                    differences.map {
                                        .object([
                                            ("table", .string($0.table)), ("changed", .int(Int64($0.changed))),
                                            ("extra", .int(Int64($0.extra))), ("missing", .int(Int64($0.missing))),
                                            ("example", .string($0.example)),
                                        ])
                                    }) : .null
                        ),
                    ]).serialized())
            } else if report.ok {
                inv.console.out(
                    "ok: \(report.events) events verify"
                        + (anchors.isEmpty
                            ? "" : ", with \(anchors.count) published head\(anchors.count == 1 ? "" : "s")")
                        + (inv.flag("deep") && differences.isEmpty ? "; every projection matches the log" : ""))
                inv.console.out("head: \(report.headSeq):\(report.headHash)")
            }
            if let bad = report.firstBadSeq {
                throw DutyError(
                    .invalidData, "the allocation log does not verify at seq \(bad): \(report.problem ?? "")")
            }
            if let first = differences.first {
                let tables = differences.map {
                    "\($0.table) (\($0.changed) changed, \($0.extra) extra, \($0.missing) missing)"
                }
                throw DutyError(
                    .invalidData,
                    "the database's state does not match its log (edited outside dutyd?): \(tables.joined(separator: ", ")); first: \(first.table) \(first.example)"
                )
            }
            return 0
        })

    /// Every `SEQ:HASH` in `text`: dutyd's `log head` lines, `duty verify`'s `head:` lines, an auditor's list.
    static func anchors(in text: String) throws(DutyError) -> [Checkpoint] {
        var out: [Checkpoint] = []
        for line in text.split(whereSeparator: \.isNewline) {
            for token in line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "," || $0 == "\"" }) {
                guard token.utf8.count > 65, token.contains(":") else { continue }
                let parts = token.split(separator: ":")
                guard let hash = parts.last, hash.utf8.count == 64, hash.allSatisfy(\.isHexDigit),
                    let seq = parts.dropLast().last.flatMap({ Int64($0) }), seq > 0
                else { continue }
                out.append(Checkpoint(seq: seq, hash: hash.lowercased()))
            }
        }
        guard !out.isEmpty else {
            throw DutyError(.invalidData, "no published heads (SEQ:HASH) found in the anchors given")
        }
        return out
    }

    static func read(_ file: String) throws(DutyError) -> String {
        let handle = file == "-" ? FileHandle.standardInput : FileHandle(forReadingAtPath: file)
        let data = handle?.readDataToEndOfFile()
        guard let data else { throw DutyError(.notFound, "cannot read anchors from '\(file)'") }
        return String(decoding: data, as: UTF8.self)
    }

    /// `journalctl -u dutyd -o cat`: the heads dutyd logged, as systemd's journal keeps them.
    static func journal() throws(DutyError) -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/journalctl")
        p.arguments = ["--unit", "dutyd", "--output", "cat", "--no-pager"]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        do { try p.run() } catch {
            throw DutyError(.unavailable, "cannot run journalctl: use --anchors FILE with the heads you kept")
        }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }
}
