import DutyCore
import DutyPolicy
import Foundation

/// `duty policy check` and `duty policy explain`.
enum PolicyCommands {
    static let check = CommandSpec(
        name: "check",
        summary: "validate policies and the roster; every diagnostic with its position",
        options: [
            OptionSpec(long: "policies", value: "DIR", help: "policies folder (default: the config's 'policies')"),
            OptionSpec(long: "roster", value: "FILE", help: "roster file (default: the config's 'roster')"),
            OptionSpec(
                long: "sample", value: "FILE",
                help: "referrals file: warn about facts rules use that no referral carries"),
            OptionSpec(long: "format", value: "FORMAT", help: "text or json (diagnostics as JSON lines)"),
        ],
        discussion: """
            Reads triage/*.json5 and allocation.json5 in the policies folder and reports every problem at once as
            FILE:LINE:COL: message. With a roster, also checks that exactly one triage policy applies to each
            kind a team handles. Exits 0 when valid (warnings allowed), 65 when there are errors.
            """,
        examples: [
            "duty policy check",
            "duty policy check --policies ./candidate --roster /etc/duty/roster.json5",
        ],
        run: { inv throws(DutyError) in try runCheck(inv) })

    static let explain = CommandSpec(
        name: "explain",
        summary: "level, due time and every matching rule for the referrals in a file",
        positionals: [
            PositionalSpec(name: "FILE", help: "a .json (object or array) or .jsonl file of referrals; - for stdin")
        ],
        options: [
            OptionSpec(long: "policies", value: "DIR", help: "policies folder (default: the config's 'policies')"),
            OptionSpec(long: "roster", value: "FILE", help: "roster file (default: the config's 'roster', if any)"),
            OptionSpec(
                long: "at", value: "TIME", help: "rate as at TIME: ISO date or date-time, -2d, today... (default: now)"),
            OptionSpec(long: "format", value: "FORMAT", help: "table or json (one object per line)"),
        ],
        discussion: """
            Rates each referral as dutyd would at TIME: every rule of the kind's policy is evaluated, the highest
            level among those that match is taken (else the policy's 'otherwise'), and every matching rule is
            listed with its reason.
            """,
        examples: [
            "duty policy explain referral.json",
            "duty policy explain waiting.jsonl --at 2024-09-10 --format json",
        ],
        run: { inv throws(DutyError) in try runExplain(inv) })

    /// Policies folder and roster path from the options, else from the config.
    static func sources(_ inv: Invocation) throws(DutyError) -> (DutyConfig?, String, String?) {
        let explicitPolicies = inv.value("policies")
        let config = try inv.loadConfig(required: explicitPolicies == nil)
        guard let policies = explicitPolicies ?? config?.policiesDir else {
            throw DutyError(
                .usage, "no policies folder: give --policies DIR or a config", cause: inv.path.joined(separator: " "))
        }
        return (config, policies, inv.value("roster") ?? config?.rosterPath)
    }

    static func runCheck(_ inv: Invocation) throws(DutyError) -> Int32 {
        let format = try inv.format(["text", "table", "json"])
        let (config, policiesDir, rosterPath) = try sources(inv)
        var deployment = Deployment.load(config: config, policiesDir: policiesDir, rosterPath: rosterPath)
        if let sample = inv.value("sample"), let policies = deployment.policies {
            deployment.diagnostics += try sampleWarnings(sample, policies: policies, inv: inv, config: config)
        }
        let diagnostics = deployment.diagnostics.sortedForDisplay()
        let errors = diagnostics.filter { $0.severity == .error }.count
        let warnings = diagnostics.count - errors
        if format == "json" {
            for d in diagnostics {
                let v = JSONValue.object([
                    ("file", .string(d.file)), ("line", d.position.map { .int(Int64($0.line)) } ?? .null),
                    ("column", d.position.map { .int(Int64($0.column)) } ?? .null), ("key", .string(d.key)),
                    ("severity", .string(d.severity.rawValue)), ("message", .string(d.message)),
                ])
                inv.console.out(v.serialized())
            }
        } else {
            for d in diagnostics { inv.console.err(d.description) }
        }
        if errors > 0 {
            throw DutyError(
                .invalidData, "policy check failed: \(plural(errors, "error")), \(plural(warnings, "warning"))")
        }
        if format != "json", let p = deployment.policies {
            var summary =
                "ok: \(plural(p.triage.count, "triage policy", "triage policies")) (\(p.triage.map(\.id).joined(separator: ", "))) and the allocation policy in \(policiesDir)"
            if let r = deployment.roster {
                summary +=
                    "; roster \(rosterPath ?? ""): \(plural(r.workers.count, "worker")) in \(plural(r.teams.count, "team")), every kind has exactly one policy"
            } else {
                summary += "; no roster given, so kinds were not checked"
            }
            if warnings > 0 { summary += "; \(plural(warnings, "warning"))" }
            inv.console.out(summary)
        }
        return 0
    }

    static func sampleWarnings(
        _ path: String, policies: PolicySet, inv: Invocation, config: DutyConfig?
    ) throws(DutyError) -> [Diagnostic] {
        let records = try readReferrals(
            path, timeZone: config?.timeZone ?? defaultZone, policies: policies, roster: nil, now: inv.console.now(),
            console: nil)
        let carried = Set(records.referrals.flatMap { $0.facts.keys })
        // Records intake would refuse (an unknown flag, a fact of the wrong type...): the sample shows what the
        // case system really sends, so each is a warning here.
        var out: [Diagnostic] = records.problems.map { location, e in
            Diagnostic(
                file: path, position: nil, key: e.field.isEmpty ? nil : e.field, severity: .warning,
                message: "\(location): intake would refuse this record: \(e.message)")
        }
        var seen = Set<String>()
        for (fact, file, position) in policies.factsUsed where !carried.contains(fact) {
            guard seen.insert("\(file)|\(position)|\(fact)").inserted else { continue }
            out.append(
                Diagnostic(
                    file: file, position: position.line > 0 ? position : nil, key: "facts.\(fact)", severity: .warning,
                    message:
                        "rule uses facts.\(fact), which no referral in \(path) carries: check the name with the case-system integration"
                ))
        }
        return out
    }

    static let defaultZone = TimeZone(identifier: "Europe/London")!

    /// Reads a referrals file with intake's own decoder for `policies` (so the same flags, facts and dates are
    /// refused), printing each bad record to `console`'s stderr when given; returns the good ones, the count of bad
    /// ones and their problems.
    static func readReferrals(
        _ path: String, timeZone: TimeZone, policies: PolicySet, roster: Roster?, now: Date, console: Console?
    ) throws(DutyError) -> (referrals: [Referral], bad: Int, problems: [(RecordLocation, FieldError)]) {
        let reader = SpoolReader(decoder: policies.intakeDecoder(timeZone: timeZone, roster: roster, now: now))
        var results: [(RecordLocation, RecordResult)] = []
        do {
            // The daemon's own reader: the same formats, checks and messages as the spool.
            if path == "-" {
                let data = Array(FileHandle.standardInput.readDataToEndOfFile())
                let start = String(decoding: data.prefix(64), as: UTF8.self).drop { $0.isWhitespace }
                let format: SpoolReader.Format = start.hasPrefix("[") ? .json : start.hasPrefix("id,") ? .csv : .jsonl
                var given = false
                try reader.read(
                    format: format,
                    next: {
                        defer { given = true }
                        return given ? nil : data
                    }, record: { results.append(($0, $1)) })
            } else {
                guard FileManager.default.fileExists(atPath: path) else {
                    throw DutyError(.notFound, "referrals file '\(path)' not found")
                }
                guard let format = SpoolReader.Format(fileName: path) else {
                    throw DutyError(.usage, "'\(path)' is not a .json, .jsonl or .csv file", cause: "policy explain")
                }
                try reader.read(path, format: format) { results.append(($0, $1)) }
            }
        } catch let error as DutyError {
            throw error
        } catch let error as SpoolReader.Unreadable {
            throw DutyError(
                .invalidData, "cannot read referrals",
                diagnostics: [Diagnostic(file: path, position: nil, message: error.message)])
        } catch {
            throw DutyError(.failure, "cannot read \(path)", cause: "\(error)")
        }
        var referrals: [Referral] = []
        var bad = 0
        var problems: [(RecordLocation, FieldError)] = []
        for (location, result) in results {
            switch result {
            case .valid(let r): referrals.append(r)
            case .invalid(let errors):
                bad += 1
                for e in errors {
                    problems.append((location, e))
                    let field = e.field.isEmpty ? "" : "\(e.field): "
                    console?.err("\(path): \(location): \(field)\(e.message)")
                }
            }
        }
        return (referrals, bad, problems)
    }

    static func runExplain(_ inv: Invocation) throws(DutyError) -> Int32 {
        let format = try inv.format(["table", "json"])
        let (config, policiesDir, rosterPath) = try sources(inv)
        let zone = config?.timeZone ?? defaultZone
        let at =
            try inv.value("at").map { v throws(DutyError) in
                try TimeArgument.parse(v, now: inv.console.now(), timeZone: zone)
            }
            ?? inv.console.now()
        let deployment = Deployment.load(config: config, policiesDir: policiesDir, rosterPath: rosterPath)
        guard let policies = deployment.policies, !deployment.diagnostics.hasErrors else {
            throw DutyError.invalid(deployment.diagnostics, what: "policies are not valid (run 'duty policy check')")
        }
        let file = inv.positionals[0]
        var (referrals, bad, _) = try readReferrals(
            file, timeZone: zone, policies: policies, roster: deployment.roster, now: inv.console.now(),
            console: inv.console)
        var unrated = 0
        var table = TextTable(["REFERRAL", "KIND", "LEVEL", "DUE", "WAITING", "RULE", "BECAUSE"])
        var ranksByRow: [(Int, [Int])] = []
        for i in referrals.indices {
            if referrals[i].team == nil { referrals[i].team = deployment.roster?.teamForKind[referrals[i].kind] }
            let r = referrals[i]
            guard let policy = policies.policy(for: r) else {
                unrated += 1
                inv.console.err("\(file): \(r.id): no triage policy applies to kind '\(r.kind)'")
                continue
            }
            let result = policy.triage(RuleContext(referral: r, now: at, timeZone: policies.timeZone))
            let waitingDays = (at.timeIntervalSince(r.received) / 86_400 * 10).rounded() / 10
            if format == "json" {
                let value = JSONValue.object([
                    ("id", .string(r.id)), ("kind", .string(r.kind)), ("team", .string(r.team)),
                    ("policy", .string(result.policy)), ("policy_version", .string(result.policyVersion)),
                    ("level", .string(result.level.name)), ("rank", .int(Int64(result.level.rank))),
                    ("due", .time(result.due)), ("received", .time(r.received)), ("at", .time(at)),
                    ("waiting_days", .number(waitingDays)), ("by_default", .bool(result.byDefault)),
                    (
                        "rules",
                        .array(
                            result.rules.map {
                                .object([
                                    ("id", .string($0.id)), ("level", .string($0.level)),
                                    ("because", .string($0.because)),
                                ])
                            })
                    ),
                ])
                inv.console.out(value.serialized())
                continue
            }
            let ranks = policy.levels.map(\.rank)
            let first = [r.id, r.kind, result.level.name, ISOTime.format(result.due), "\(Render.number(waitingDays))d"]
            if result.rules.isEmpty {
                table.add(first + ["(none)", "no rule matched: the policy's default level '\(policy.otherwise)'"])
                ranksByRow.append((result.level.rank, ranks))
            }
            for (n, rule) in result.rules.enumerated() {
                let lead = n == 0 ? first : ["", "", "", "", ""]
                table.add(lead + [rule.id + (rule.level == result.level.name ? "" : " (\(rule.level))"), rule.because])
                ranksByRow.append((n == 0 ? result.level.rank : -1, ranks))
            }
        }
        if format == "table" && !table.rows.isEmpty {
            let colour = inv.console.useColour
            for line in table.render(
                width: inv.console.width,
                paint: { row, column, text in
                    guard column == 2, ranksByRow[row].0 >= 0 else { return text }
                    return LevelColour.paint(text, rank: ranksByRow[row].0, ranks: ranksByRow[row].1, enabled: colour)
                })
            {
                inv.console.out(line)
            }
        }
        if bad > 0 || unrated > 0 {
            throw DutyError(
                .invalidData, "\(plural(bad + unrated, "referral")) in \(file) could not be rated: see above")
        }
        return 0
    }
}

func plural(_ n: Int, _ word: String, _ pluralWord: String? = nil) -> String {
    "\(n) \(n == 1 ? word : pluralWord ?? word + "s")"
}
