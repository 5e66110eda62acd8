import DutyControl
import DutyCore
import DutyEngine
import DutyPolicy
import DutyState
import DutyStore
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// `duty show` and `duty why`: one referral, its rating and its allocation decision.
extension ReadCommands {
    // MARK: show

    static func referralRow(_ ctx: ReadContext, _ id: String) throws(DutyError) -> ReferralRow {
        guard let row = try ctx.reading({ try ctx.store.referral(id) }) else {
            throw DutyError(.notFound, "no referral '\(id)'")
        }
        return row
    }

    /// The engine's snapshot of the referral and the allocated work now, and where the referral stands in its
    /// team's allocation order among the others as the last cycle rated them (nil when it is not waiting or
    /// unrated); both nil when the roster or policies do not load.
    static func place(_ ctx: ReadContext, _ r: ReferralRow, now: Date) throws(DutyError) -> (QueuePlace?, Snapshot?) {
        guard let roster = ctx.roster, let policies = ctx.policies else { return (nil, nil) }
        let (snapshot, queue) = try ctx.reading {
            try EngineState.focus(on: r, store: ctx.store, roster: roster, policies: policies, now: now)
        }
        return (r.state == "waiting" ? Engine.place(of: r.id, in: snapshot, among: queue, now: now) : nil, snapshot)
    }

    static func placeJSON(_ p: QueuePlace?) -> JSONValue {
        guard let p else { return .null }
        return .object([
            ("position", .int(Int64(p.position))), ("of", .int(Int64(p.of))), ("team", .string(p.team)),
            ("rank", .int(Int64(p.rank))), ("risk_rank", .int(Int64(p.riskRank))),
            ("on_risk", .bool(p.riskRank >= p.rank)),
            ("yielded", .bool(p.yielded)), ("past_max_wait", .bool(p.pastMaxWait)), ("due", .time(p.due)),
            ("ahead", .object(p.ahead.map { ($0.key, .int(Int64($0.count))) })),
        ])
    }

    /// "3 of 41 waiting in safeguarding: rank 3 on its risk ...; ahead of it: 1 top-rank on its risk, ...".
    static func placeText(_ p: QueuePlace, zone: TimeZone) -> String {
        let words = [
            "yields_to": "top-rank on its risk (max_wait.yields_to)", "max_wait": "waiting past max_wait",
            "rank": "at a higher rank", "risk": "at this rank on risk (this one only by aging)",
            "due": "due earlier", "received": "received earlier", "id": "the same, lower id",
        ]
        var text = "\(p.position) of \(p.of) waiting in \(p.team ?? "no team"): rank \(p.rank)"
        text += p.riskRank >= p.rank ? " on its risk" : " by aging rules (rank \(p.riskRank) on its risk)"
        if p.yielded { text += ", ahead of work past max_wait (yields_to)" }
        if p.pastMaxWait && !p.yielded { text += ", waiting past max_wait" }
        text += ", due \(Render.localTime(p.due, zone))"
        if !p.ahead.isEmpty {
            text += "; ahead of it: " + p.ahead.map { "\($0.count) \(words[$0.key] ?? $0.key)" }.joined(separator: ", ")
        }
        return text
    }

    static let show = CommandSpec(
        name: "show", summary: "a referral: facts, rating with every matching rule, state, manager, timeline",
        positionals: [PositionalSpec(name: "REF", help: "the referral id")], options: [formatOption("table or json")],
        examples: ["duty show LAS-1", "duty show LAS-1 --format json"],
        run: { inv throws(DutyError) in
            let format = try inv.format(["table", "json"])
            let ctx = try ReadContext(inv)
            let r = try referralRow(ctx, inv.positionals[0])
            let timeline = try ctx.reading { try ctx.store.timeline(r.id) }
            if format == "json" {
                inv.console.out(
                    JSONValue.object([
                        ("id", .string(r.id)), ("person", .string(r.person)), ("kind", .string(r.kind)),
                        ("team", .string(r.team)),
                        ("state", .string(r.state)), ("level", .string(r.level)),
                        ("rank", r.rank.map { .int(Int64($0)) } ?? .null),
                        ("pinned", .bool(r.pinLevel != nil)), ("rules", ctx.rules(r)), ("worker", .string(r.worker)),
                        ("worker_name", ctx.name(r.worker)), ("manager", .string(r.manager)),
                        ("manager_name", ctx.name(r.manager)),
                        ("fallback", r.state == "allocated" ? .bool(r.fallback) : .null),
                        ("received", .time(r.received)), ("rated", .time(r.rated)), ("allocated", .time(r.allocated)),
                        ("due", .time(r.due)), ("acknowledged", .time(r.acknowledged)), ("closed", .time(r.closed)),
                        ("flags", .strings(r.flags)), ("facts", .facts(r.facts)),
                        ("complexity", .int(Int64(r.complexity))),
                        ("blocked", .string(r.blocked)), ("next_review", .time(ctx.nextReview(r))),
                        ("timeline", .array(timeline.map(\.json))),
                    ]).serialized().lineSafe)
                return 0
            }
            let t = { (d: Date?) in d.map { Render.localTime($0, ctx.zone) } ?? "-" }
            // Data from the case system is printed with control characters escaped: it cannot forge lines.
            let out = { (line: String) in inv.console.out(ReferralDecoder.escapingControlCharacters(line)) }
            out("\(r.id): \(r.kind) for person \(r.person), team \(r.team ?? "-"), complexity \(r.complexity)")
            if !r.flags.isEmpty { out("flags: \(r.flags.joined(separator: ", "))") }
            if !r.facts.isEmpty {
                out(
                    "facts: \(r.facts.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", "))"
                )
            }
            var state = r.state
            if r.state == "allocated" {
                state += " to \(ctx.named(r.worker)); accountable: \(r.manager.map(ctx.named) ?? "nobody present")"
                if r.fallback { state += " (fallback)" }
                state +=
                    r.acknowledged == nil
                    ? "; not acknowledged" : "; acknowledged \(t(r.acknowledged)) by \(ctx.named(r.acknowledgedBy))"
            } else if let b = r.blocked {
                state += " (blocked: \(b))"
            }
            out("state: \(state)")
            let level =
                r.level.map {
                    LevelColour.paint(
                        $0, rank: ctx.levelRanks[$0]?.0 ?? 0, ranks: ctx.levelRanks[$0]?.1 ?? [],
                        enabled: inv.console.useColour)
                } ?? "unrated"
            inv.console.out(  // the level's colour is ours; the rest is policy text
                "level: \(level)\(r.pinLevel != nil ? " (pinned by a manager)" : "")\(r.policy.map { ", policy \($0) \(r.policyVersion ?? "")" } ?? "")"
            )
            if case .array(let rules) = ctx.rules(r) {
                if rules.isEmpty { out("  no rule matched: the policy's default level") }
                var table = TextTable(["RULE", "LEVEL", "BECAUSE"])
                for rule in rules {
                    table.add([
                        rule["id"]?.stringValue ?? "", rule["level"]?.stringValue ?? "",
                        rule["because"]?.stringValue ?? "",
                    ])
                }
                if !rules.isEmpty {
                    for line in table.render(width: inv.console.width.map { $0 - 2 }) { out("  " + line) }
                }
            }
            out(
                "received \(t(r.received)), rated \(t(r.rated)), due \(t(r.due)), allocated \(t(r.allocated))"
                    + (r.closed != nil ? ", closed \(t(r.closed))" : ""))
            if let next = ctx.nextReview(r) { out("next review: \(t(next))") }
            if r.state == "waiting" { out("place in the allocation order: duty why \(r.id)") }
            out("timeline:")
            var table = TextTable(["SEQ", "AT", "EVENT", "ACTOR", "DETAIL"])
            table.rightAligned = [0]
            for e in timeline {
                table.add([String(e.seq), t(ISOTime.parse(e.at, timeZone: ctx.zone)), e.type, e.actor, summary(e)])
            }
            for line in table.render(width: inv.console.width.map { $0 - 2 }) { out("  " + line) }
            return 0
        })

    /// One line about an event for tables.
    static func summary(_ e: StoredEvent) -> String {
        let d = e.dataValue
        func s(_ k: String) -> String { d[k].map { Render.raw($0) } ?? "" }
        // The rules that matched, if any (none: the policy's default level).
        let rules = s("rules").isEmpty ? " (no rule: the default level)" : " (\(s("rules")))"
        switch e.type {
        case "triage.rated": return s("level") + rules
        case "triage.rerated":
            return "\(s("from")) -> \(s("level"))" + rules
                + (d["pin_raised"]?.boolValue == true ? ", pin raised" : "")
        case "allocation.assigned":
            return "to \(s("worker")), accountable \(d["manager"]?.stringValue ?? "nobody")"
                + (d["fallback"]?.boolValue == true ? " (\(s("fallback_reason")))" : "")
        case "allocation.blocked": return s("reason")
        case "escalation.raised": return "\(s("reason")) to \(d["to"]?.stringValue ?? "nobody")"
        case "override.assigned":
            return "\(s("from")) -> \(s("to")) by \(s("by")): \(s("reason"))"
                + (s("broke").isEmpty ? "" : " (broke \(s("broke")))")
        case "override.unassigned": return "from \(s("from")) by \(s("by")): \(s("reason"))"
        case "override.rerated":
            return d["cleared"]?.boolValue == true
                ? "pin cleared by \(s("by"))" : "\(s("from")) -> \(s("to")) by \(s("by")): \(s("reason"))"
        case "referral.received":
            return "\(s("kind")) from \(s("source"))" + (s("flags").isEmpty ? "" : ", flags \(s("flags"))")
        case "referral.updated": return "changed: " + d.objectKeys.filter { $0 != "source" }.joined(separator: ", ")
        case "referral.closed": return s("reason")
        case "allocation.acknowledged", "review.recorded":
            return "by \(s("by"))" + (s("note").isEmpty ? "" : ": \(s("note"))")
        case "intake.rejected": return "\(s("file")) \(s("line"))\(s("index")) \(s("field")): \(s("message"))"
        case "absence.recorded": return "\(s("worker")) \(s("from")) - \(s("to"))"
        default: return e.data  // whole: a terminal's table shortens it to fit, a pipe gets all of it
        }
    }

    // MARK: why

    static let why = CommandSpec(
        name: "why", summary: "the allocation decision: every candidate with score parts or what excluded it",
        positionals: [PositionalSpec(name: "REF", help: "the referral id")],
        options: [OptionSpec(long: "worker", value: "W", help: "only this candidate"), formatOption("table or json")],
        discussion: """
            For an allocated referral, the candidates as they stood when it was allocated (from the log); for a
            waiting one, as they stand now. Checks in order: absent, absence_lookahead, capacity, skills, then the
            allocation policy's eligibility rules.
            """,
        examples: ["duty why LAS-1", "duty why LAS-1 --worker w-112"],
        run: { inv throws(DutyError) in
            let format = try inv.format(["table", "json"])
            let ctx = try ReadContext(inv)
            let r = try referralRow(ctx, inv.positionals[0])
            var candidates: JSONValue = .array([])
            var source = "now"
            var place: QueuePlace?
            if r.state == "allocated",
                let event = try ctx.reading({ try ctx.store.timeline(r.id) }).last(where: {
                    $0.type == "allocation.assigned"
                }),
                event.dataValue["worker"]?.stringValue == r.worker
            {
                candidates = event.dataValue["candidates"] ?? .array([])
                let at = ISOTime.parse(event.at, timeZone: TimeZone(identifier: "UTC")!)
                source = "when allocated, \(at.map { Render.localTime($0, ctx.zone) } ?? event.at)"
            } else if ctx.roster != nil, ctx.policies != nil {
                let now = inv.console.now()
                let (found, snapshot) = try Self.place(ctx, r, now: now)
                place = found
                if let snapshot {
                    candidates = .array((Engine.candidates(for: r.id, in: snapshot, now: now) ?? []).map(\.json))
                }
            } else {
                throw DutyError(
                    .invalidData,
                    "the roster or policies do not load (run 'duty policy check'): cannot work out candidates")
            }
            guard case .array(var list) = candidates else { return 0 }
            // Each candidate's name beside its id.
            list = list.map { c in
                guard case .object(var fields) = c else { return c }
                if let i = fields.firstIndex(where: { $0.0 == "worker" }) {
                    fields.insert(("name", ctx.name(fields[i].1.stringValue)), at: i + 1)
                }
                return .object(fields)
            }
            if let w = inv.value("worker") {
                list = list.filter { $0["worker"]?.stringValue == w }
                if list.isEmpty { throw DutyError(.notFound, "\(w) is not a candidate for \(r.id) (not in its team?)") }
            }
            if format == "json" {
                inv.console.out(
                    JSONValue.object([
                        ("id", .string(r.id)), ("worker", .string(r.worker)), ("place", placeJSON(place)),
                        ("candidates", .array(list)),
                    ]).serialized().lineSafe)
                return 0
            }
            inv.console.out(
                "\(r.id): \(r.state == "allocated" ? "allocated to \(ctx.named(r.worker))" : "waiting") (candidates \(source))"
            )
            if let place {
                inv.console.out(
                    "place in the allocation order: " + placeText(place, zone: ctx.zone)
                        + " (it rated now, the others as the last cycle rated them)")
            }
            let because = Dictionary(
                (ctx.policies?.allocation.eligible ?? []).map { ($0.id, $0.because) }, uniquingKeysWith: { a, _ in a })
            var table = TextTable([
                "WORKER", "ELIGIBLE", "SCORE", "CONTINUITY", "LEAST LOADED", "SPECIALISM", "EXCLUDED BY",
            ])
            table.rightAligned = [2, 3, 4, 5]
            for c in list {
                let parts = c["parts"]
                func n(_ v: JSONValue?) -> String { v.map { Render.cell($0, key: "", timeZone: ctx.zone) } ?? "-" }
                var excluded =
                    c["excluded_by"]?.stringValue.map { id in because[id].map { "\(id): \($0)" } ?? id } ?? ""
                if let load = c["load"]?.doubleValue, let cap = c["capacity"]?.doubleValue,
                    let need = c["points_needed"]?.doubleValue
                {
                    excluded +=
                        ": holds \(Render.number(load)) of \(Render.number(cap)) points, needs \(Render.number(need))"
                }
                table.add([
                    ctx.named(c["worker"]?.stringValue), c["eligible"]?.boolValue == true ? "yes" : "no",
                    c["score"].map { $0.isNull ? "-" : String(format: "%.2f", $0.doubleValue ?? 0) } ?? "-",
                    n(parts?["continuity"]),
                    parts?["least_loaded"]?.doubleValue.map { String(format: "%.2f", $0) } ?? "-",
                    n(parts?["specialism"]), excluded,
                ])
            }
            for line in table.render(width: inv.console.width) { inv.console.out(line) }
            return 0
        })
}
