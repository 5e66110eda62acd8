import DutyCore
import DutyEngine
import DutyPolicy
import DutyStore
import Foundation

/// `duty policy diff DIR`: what candidate policies would do to the waiting list now.
enum PolicyDiff {
    static let command = CommandSpec(
        name: "diff", summary: "re-triage the waiting list under candidate policies: level changes, order, counts",
        positionals: [
            PositionalSpec(name: "DIR", help: "the candidate policies folder (triage/*.json5, allocation.json5)")
        ],
        options: [
            OptionSpec(long: "at", value: "TIME", help: "rate both as at TIME (default now)"),
            OptionSpec(long: "top", value: "N", help: "how many allocation-order positions to compare (default 20)"),
            OptionSpec(long: "format", value: "FORMAT", help: "table or json"),
        ],
        discussion: """
            Checks DIR as 'duty policy check' does (errors exit 65), then rates every waiting referral in the
            database under the live policies and under DIR at the same moment, pins honoured, and reports each
            referral whose level changes (with the rules that now match), the counts per kind and level before and
            after, and the first positions of the allocation order that change. Nothing is written.
            """,
        examples: ["duty policy diff ./candidate", "duty policy diff ./candidate --format json"],
        run: { inv throws(DutyError) in try run(inv) })

    struct Entry {
        var row: ReferralRow
        var before: Rating?
        var after: Rating?
    }

    static func order(_ entries: [Entry], _ key: KeyPath<Entry, Rating?>) -> [String] {
        entries.filter { $0[keyPath: key] != nil }.sorted { a, b in
            let ra = a[keyPath: key]!
            let rb = b[keyPath: key]!
            if ra.rank != rb.rank { return ra.rank > rb.rank }
            if ra.due != rb.due { return ra.due < rb.due }
            if a.row.received != b.row.received { return a.row.received < b.row.received }
            return a.row.id < b.row.id
        }.map(\.row.id)
    }

    static func run(_ inv: Invocation) throws(DutyError) -> Int32 {
        let format = try inv.format(["table", "json"])
        let ctx = try ReadContext(inv)
        guard let roster = ctx.roster, let live = ctx.policies else {
            throw DutyError(.invalidData, "the live roster or policies do not load: run 'duty policy check'")
        }
        let candidate = Deployment.load(
            config: ctx.config, policiesDir: inv.positionals[0], rosterPath: ctx.config.rosterPath)
        guard let proposed = candidate.policies, !candidate.diagnostics.hasErrors else {
            throw DutyError.invalid(candidate.diagnostics, what: "the candidate policies are not valid")
        }
        for d in candidate.diagnostics.sortedForDisplay() { inv.console.err(d.description) }
        let now =
            try inv.value("at").map { v throws(DutyError) in
                try TimeArgument.parse(v, now: inv.console.now(), timeZone: ctx.zone)
            }
            ?? inv.console.now()
        guard let top = Int(inv.value("top") ?? "20"), top >= 0 else {
            throw DutyError(.usage, "--top needs a whole number", cause: "policy diff")
        }
        let rows = try reading { try ctx.store.waiting() }
        let entries = rows.map { row in
            let pin = row.pinLevel.map { Pin(level: $0, rank: row.pinRank ?? 0, policyRank: row.pinPolicyRank ?? 0) }
            return Entry(
                row: row, before: Engine.rate(row.referral, pin: pin, policies: live, roster: roster, now: now),
                after: Engine.rate(row.referral, pin: pin, policies: proposed, roster: roster, now: now))
        }
        let changes = entries.filter { $0.before?.level != $0.after?.level || $0.before?.rank != $0.after?.rank }
        var counts: [String: (Int, Int)] = [:]
        for e in entries {
            if let b = e.before { counts["\(e.row.kind)\t\(b.level)", default: (0, 0)].0 += 1 }
            if let a = e.after { counts["\(e.row.kind)\t\(a.level)", default: (0, 0)].1 += 1 }
        }
        let before = order(entries, \.before)
        let after = order(entries, \.after)
        var moved: [(Int, String?, String?)] = []
        for i in 0..<min(top, max(before.count, after.count)) {
            let b = i < before.count ? before[i] : nil
            let a = i < after.count ? after[i] : nil
            if a != b { moved.append((i + 1, b, a)) }
        }
        let countRows = counts.sorted { $0.key < $1.key }.map { key, v -> (String, String, Int, Int) in
            let parts = key.split(separator: "\t").map(String.init)
            return (parts[0], parts[1], v.0, v.1)
        }
        if format == "json" {
            inv.console.out(
                JSONValue.object([
                    ("at", .time(now)), ("waiting", .int(Int64(entries.count))),
                    (
                        "changes",
                        .array(
                            changes.map { e in
                                .object([
                                    ("id", .string(e.row.id)), ("kind", .string(e.row.kind)),
                                    ("from", .string(e.before?.level)),
                                    ("to", .string(e.after?.level)), ("rules", .strings(e.after?.rules ?? [])),
                                ])
                            })
                    ),
                    (
                        "counts",
                        .array(
                            countRows.map {
                                .object([
                                    ("kind", .string($0.0)), ("level", .string($0.1)), ("before", .int(Int64($0.2))),
                                    ("after", .int(Int64($0.3))),
                                ])
                            })
                    ),
                    (
                        "order",
                        .array(
                            moved.map {
                                .object([
                                    ("position", .int(Int64($0.0))), ("before", .string($0.1)),
                                    ("after", .string($0.2)),
                                ])
                            })
                    ),
                ]).serialized())
            return 0
        }
        let out = inv.console.out
        out(
            "\(changes.count) of \(entries.count) waiting referrals change level under \(inv.positionals[0]) (as at \(Render.localTime(now, ctx.zone)))"
        )
        if !changes.isEmpty {
            var table = TextTable(["REFERRAL", "KIND", "FROM", "TO", "RULES NOW"])
            for e in changes {
                table.add([
                    e.row.id, e.row.kind, e.before?.level ?? "-", e.after?.level ?? "-",
                    (e.after?.rules ?? []).joined(separator: ", "),
                ])
            }
            for line in table.render(width: inv.console.width) { out(line) }
        }
        out("")
        var counted = TextTable(["KIND", "LEVEL", "BEFORE", "AFTER", "CHANGE"])
        counted.rightAligned = [2, 3, 4]
        for (kind, level, b, a) in countRows {
            counted.add([kind, level, String(b), String(a), a == b ? "" : (a > b ? "+\(a - b)" : "\(a - b)")])
        }
        for line in counted.render(width: inv.console.width) { out(line) }
        out("")
        if moved.isEmpty {
            out("the first \(min(top, before.count)) positions of the allocation order do not change")
        } else {
            var ordered = TextTable(["POSITION", "NOW", "UNDER \(inv.positionals[0])"])
            ordered.rightAligned = [0]
            for (p, b, a) in moved { ordered.add([String(p), b ?? "-", a ?? "-"]) }
            for line in ordered.render(width: inv.console.width) { out(line) }
        }
        return 0
    }
}
