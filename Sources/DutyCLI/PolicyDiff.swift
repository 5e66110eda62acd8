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

    /// A class: as a struct, the 6.3 optimiser crashes on loops over these.
    final class Entry {
        let row: ReferralRow
        let before: Rating?
        let after: Rating?

        init(row: ReferralRow, before: Rating?, after: Rating?) {
            self.row = row
            self.before = before
            self.after = after
        }
    }

    /// Allocation order (rank, due, received, id) of the entries rated under one side.
    static func order(_ entries: [Entry], after: Bool) -> [String] {
        // Sorted as small keys, not as (entry, rating) pairs: copying ratings was a tenth of the command's time.
        struct Key {
            var rank: Int
            var due: Date
            var received: Date
            var i: Int
        }
        var keys: [Key] = []
        keys.reserveCapacity(entries.count)
        for (i, e) in entries.enumerated() {
            guard let r = after ? e.after : e.before else { continue }
            keys.append(Key(rank: r.rank, due: r.due, received: e.row.received, i: i))
        }
        keys.sort { a, b in
            if a.rank != b.rank { return a.rank > b.rank }
            if a.due != b.due { return a.due < b.due }
            if a.received != b.received { return a.received < b.received }
            return entries[a.i].row.id < entries[b.i].row.id
        }
        return keys.map { entries[$0.i].row.id }
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
        let rows = try ctx.reading { try ctx.store.waiting() }
        let result = compute(rows, live: live, proposed: proposed, roster: roster, now: now, top: top)
        if format == "json" {
            printJSON(result, inv)
        } else {
            printTable(result, inv, zone: ctx.zone)
        }
        return 0
    }

    struct Result {
        var now: Date
        var candidate: String = ""
        var entries: [Entry]
        var changes: [Entry]
        var countRows: [(String, String, Int, Int)]
        var moved: [(Int, String?, String?)]
        var compared: Int
    }

    static func compute(
        _ rows: [ReferralRow], live: PolicySet, proposed: PolicySet, roster: Roster, now: Date, top: Int
    ) -> Result {
        let entries = rows.map { row in
            let pin = row.pinLevel.map { Pin(level: $0, rank: row.pinRank ?? 0, policyRank: row.pinPolicyRank ?? 0) }
            return Entry(
                row: row, before: Engine.rate(row.referral, pin: pin, policies: live, roster: roster, now: now),
                after: Engine.rate(row.referral, pin: pin, policies: proposed, roster: roster, now: now))
        }
        let changes = entries.filter { $0.before?.level != $0.after?.level || $0.before?.rank != $0.after?.rank }
        var beforeCounts: [String: Int] = [:]
        var afterCounts: [String: Int] = [:]
        for (kind, b, a) in entries.map({ ($0.row.kind, $0.before?.level, $0.after?.level) }) {
            if let b { beforeCounts["\(kind)\t\(b)", default: 0] += 1 }
            if let a { afterCounts["\(kind)\t\(a)", default: 0] += 1 }
        }
        let before = order(entries, after: false)
        let after = order(entries, after: true)
        var moved: [(Int, String?, String?)] = []
        for i in 0..<min(top, max(before.count, after.count)) {
            var b: String?
            var a: String?
            if i < before.count { b = before[i] }
            if i < after.count { a = after[i] }
            if a != b { moved.append((i + 1, b, a)) }
        }
        // Kinds alphabetically, levels by rank, highest first (as the policy lists them), not alphabetically.
        var rankOf: [String: Int] = [:]
        for e in entries {
            for r in [e.before, e.after].compactMap({ $0 }) { rankOf["\(e.row.kind)\t\(r.level)"] = r.rank }
        }
        let countRows = Set(beforeCounts.keys).union(afterCounts.keys).map {
            key -> (String, String, Int, Int) in
            let parts = key.split(separator: "\t").map(String.init)
            return (parts[0], parts[1], beforeCounts[key] ?? 0, afterCounts[key] ?? 0)
        }.sorted { a, b in
            if a.0 != b.0 { return a.0 < b.0 }
            let (ra, rb) = (rankOf["\(a.0)\t\(a.1)"] ?? 0, rankOf["\(b.0)\t\(b.1)"] ?? 0)
            return ra != rb ? ra > rb : a.1 < b.1
        }
        return Result(
            now: now, entries: entries, changes: changes, countRows: countRows, moved: moved,
            compared: min(top, before.count))
    }

    static func printJSON(_ r: Result, _ inv: Invocation) {
        let (now, entries, changes, countRows, moved) = (r.now, r.entries, r.changes, r.countRows, r.moved)
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
    }

    static func printTable(_ r: Result, _ inv: Invocation, zone: TimeZone) {
        let (now, entries, changes, countRows, moved) = (r.now, r.entries, r.changes, r.countRows, r.moved)
        let out = inv.console.out
        out(
            "\(changes.count) of \(entries.count) waiting referrals change level under \(inv.positionals[0]) (as at \(Render.localTime(now, zone)))"
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
            out("the first \(r.compared) positions of the allocation order do not change")
        } else {
            var ordered = TextTable(["POSITION", "NOW", "UNDER \(inv.positionals[0])"])
            ordered.rightAligned = [0]
            for (p, b, a) in moved { ordered.add([String(p), b ?? "-", a ?? "-"]) }
            for line in ordered.render(width: inv.console.width) { out(line) }
        }
    }
}
