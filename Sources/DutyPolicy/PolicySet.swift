import DutyCore
import Foundation

/// Every policy in a policies folder: the triage policies (one per kind) and the allocation policy.
public struct PolicySet: Sendable {
    public var directory: String
    public var triage: [TriagePolicy]
    public var allocation: AllocationPolicy
    /// Index into `triage` of the policy for each kind the roster names.
    public var policyForKind: [String: Int]
    /// Every file read, sorted: what `config.loaded` hashes.
    public var files: [String]
    /// The council's zone (config `timezone`): policy durations in days and weeks are calendar days in it.
    public var timeZone: TimeZone = .utc

    /// The levels of the policies for `team`'s kinds, by name, highest rank first, each name once: the lines of
    /// a team's chart in `duty report` and `duty simulate`.
    public func levelNames(forTeam team: Team) -> [String] {
        var levels: [(name: String, rank: Int)] = []
        for kind in team.kinds {
            guard let i = policyForKind[kind] else { continue }
            for l in triage[i].levels where !levels.contains(where: { $0.name == l.name }) {
                levels.append((l.name, l.rank))
            }
        }
        return levels.sorted { $0.rank > $1.rank }.map(\.name)
    }

    /// The policy that applies to a referral: by kind from the roster, else by evaluating each `applies_to`.
    public func policy(for referral: Referral) -> TriagePolicy? {
        if let i = policyForKind[referral.kind] { return triage[i] }
        let context = RuleContext(referral: referral, now: referral.received)
        return triage.first { $0.appliesTo.evaluate(context) }
    }

    /// Rates a referral at `now`: nil when no policy applies to its kind.
    public func triage(_ referral: Referral, now: Date) -> TriageResult? {
        guard let policy = policy(for: referral) else { return nil }
        return policy.triage(RuleContext(referral: referral, now: now, timeZone: timeZone))
    }

    /// The decoder intake uses with these policies and `roster` (nil: any kind and team), at `now` (nil: no bound
    /// on `received`): the one place the spool, `policy check --sample` and `policy explain` get their rules.
    ///
    /// By kind, a flag is known when a rule of the kind's triage policy or of the allocation policy reads it, the
    /// triage policy declares it in `flags`, or (while `prefer.specialism` weighs skills) it names a skill some
    /// worker holds; and a fact has the type the rules use it as (see `Condition.factUses`).
    public func intakeDecoder(timeZone: TimeZone, roster: Roster?, now: Date?) -> ReferralDecoder {
        var decoder = ReferralDecoder(
            timeZone: timeZone, knownKinds: roster.map { r in Set(r.kinds.filter { policyForKind[$0] != nil }) },
            knownTeams: roster.map { Set($0.teams.map(\.id)) })
        decoder.receivedRange = now.map(ReferralDecoder.receivedBounds(now:))
        var shared = allocation.eligible.reduce(into: Set<String>()) { $0.formUnion($1.condition.flagsRead) }
        if let roster, allocation.prefer.specialism > 0 { shared.formUnion(roster.workers.flatMap(\.skills)) }
        var sharedFacts: [String: FactType?] = [:]
        for r in allocation.eligible { sharedFacts.merge(r.condition.factUses) { $0 == $1 ? $0 : nil } }
        for (kind, i) in policyForKind {
            let policy = triage[i]
            decoder.flagVocabulary[kind] = policy.flagVocabulary.union(shared)
            var uses = sharedFacts
            for r in policy.rules {
                uses.merge(r.condition.factUses) { $0 == $1 ? $0 : nil }
                if let due = r.due { uses.merge(due.factUses) { $0 == $1 ? $0 : nil } }
            }
            decoder.factTypes[kind] = uses.compactMapValues { $0 }
        }
        return decoder
    }

    /// Every fact a rule reads, with where the rule is, for `policy check --sample`.
    public var factsUsed: [(fact: String, file: String, position: SourcePosition)] {
        var out: [(String, String, SourcePosition)] = []
        for p in triage {
            for r in p.rules {
                let dueFacts = r.due.map { Set($0.factUses.keys) } ?? []
                for f in r.condition.facts.union(dueFacts).sorted() { out.append((f, p.file, r.position)) }
            }
        }
        for r in allocation.eligible {
            for f in r.condition.facts.sorted() { out.append((f, allocation.file, SourcePosition(line: 0, column: 0))) }
        }
        return out
    }

    /// The text of every file of a policies folder, read once: what `compile` builds a set from. The simulator
    /// compiles one set per council from the same texts, so councils on different threads share no objects.
    public struct Sources: Sendable {
        public var directory: String
        /// Each triage policy file, sorted by path, with its text or why it could not be read.
        var triage: [(file: String, text: Result<String, DutyError>)]
        var allocation: (file: String, text: Result<String, DutyError>)
        /// Problems with the folder itself (missing, no triage policies).
        var diagnostics: [Diagnostic]
        /// False when the folder does not exist: nothing else is reported then.
        var found = true
    }

    /// Reads a policies folder: `triage/*.json5` and `allocation.json5`.
    public static func read(directory: String) -> Sources {
        let fm = FileManager.default
        let triageDir = directory + "/triage"
        let allocationFile = directory + "/allocation.json5"
        func text(_ file: String, _ what: String) -> Result<String, DutyError> {
            Result { () throws(DutyError) in try SourceFile.read(file, what: what) }
        }
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: directory, isDirectory: &isDir), isDir.boolValue else {
            return Sources(
                directory: directory, triage: [],
                allocation: (allocationFile, .failure(DutyError(.notFound, "policies folder not found"))),
                diagnostics: [Diagnostic(file: directory, position: nil, message: "policies folder not found")],
                found: false)
        }
        var triageFiles: [String] = []
        if let names = try? fm.contentsOfDirectory(atPath: triageDir) {
            triageFiles = names.filter { $0.hasSuffix(".json5") || $0.hasSuffix(".json") }
                .filter { !$0.hasPrefix(".") }.sorted().map { triageDir + "/" + $0 }
        }
        var diagnostics: [Diagnostic] = []
        if triageFiles.isEmpty {
            diagnostics.append(
                Diagnostic(file: triageDir, position: nil, message: "no triage policies (*.json5) found"))
        }
        return Sources(
            directory: directory, triage: triageFiles.map { ($0, text($0, "policy")) },
            allocation: (allocationFile, text(allocationFile, "allocation policy")), diagnostics: diagnostics)
    }

    /// Loads and validates a policies folder: `triage/*.json5` and `allocation.json5`. With a roster, also checks
    /// that exactly one triage policy applies to each kind the roster names. Returns every diagnostic; the set is
    /// nil when there are errors.
    public static func load(directory: String, roster: Roster?) -> (PolicySet?, [Diagnostic]) {
        compile(read(directory: directory), roster: roster)
    }

    /// Skills that cannot match: names in the roster that differ only in case (`BIA` and `bia` are different
    /// skills to the engine), and skills the allocation rules test that no worker holds.
    static func skillWarnings(roster: Roster, allocation: AllocationPolicy?) -> [Diagnostic] {
        var out: [Diagnostic] = []
        let rosterFile = roster.file ?? "roster"
        let held = Set(roster.workers.flatMap(\.skills))
        let spellings = Dictionary(grouping: held, by: { $0.lowercased() }).values.filter { $0.count > 1 }
        for names in spellings.map({ $0.sorted() }).sorted(by: { $0[0] < $1[0] }) {
            out.append(
                Diagnostic(
                    file: rosterFile, position: nil, key: "skills", severity: .warning,
                    message:
                        "skills \(names.map { "'\($0)'" }.joined(separator: " and ")) differ only in case: a referral or rule naming one does not match the others"
                ))
        }
        for rule in allocation?.eligible ?? [] {
            for skill in rule.condition.workerSkillsRead.sorted() where !held.contains(skill) {
                var message = "rule '\(rule.id)' tests skill '\(skill)', which no worker in the roster holds"
                if let guess = closestMatch(skill, in: held.sorted()) { message += "; did you mean '\(guess)'?" }
                out.append(
                    Diagnostic(
                        file: allocation?.file ?? "allocation", position: nil, key: "eligible", severity: .warning,
                        message: message))
            }
        }
        return out
    }

    /// Builds and validates a set from a folder's texts, as `load` does.
    public static func compile(_ sources: Sources, roster: Roster?) -> (PolicySet?, [Diagnostic]) {
        let directory = sources.directory
        var diagnostics = sources.diagnostics
        guard sources.found else { return (nil, diagnostics) }
        let triageDir = directory + "/triage"
        let triageFiles = sources.triage.map(\.file)
        var policies: [TriagePolicy] = []
        var unreadable = 0
        for (file, text) in sources.triage {
            let sink = DiagnosticSink(file: file)
            switch text {
            case .success(let text):
                if let p = TriagePolicy.parse(text, file: file, sink: sink) {
                    policies.append(p)
                } else {
                    unreadable += 1
                }
            case .failure(let error):
                sink.error(nil, error.message)
                unreadable += 1
            }
            diagnostics += sink.diagnostics
        }
        // Policy ids are unique; rule ids should be, since events name rules by id alone.
        var policyIDs: [String: String] = [:]
        var ruleIDs: [String: String] = [:]
        for p in policies {
            if let other = policyIDs[p.id] {
                diagnostics.append(
                    Diagnostic(
                        file: p.file, position: nil, key: "id",
                        message: "duplicate policy id '\(p.id)' (also in \(other))"))
            }
            policyIDs[p.id] = p.file
            for r in p.rules {
                if let other = ruleIDs[r.id], other != p.file {
                    diagnostics.append(
                        Diagnostic(
                            file: p.file, position: r.position, severity: .warning,
                            message: "rule id '\(r.id)' is also used in \(other): explanations name rules by id"))
                }
                ruleIDs[r.id] = p.file
            }
        }

        // Ranks and level names the allocation policy may use.
        var ranks: [String: Int] = [:]
        var conflicting = Set<String>()
        for p in policies {
            for l in p.levels {
                ranks[String(l.rank)] = l.rank
                if let r = ranks[l.name], r != l.rank { conflicting.insert(l.name) }
                ranks[l.name] = l.rank
            }
        }
        // A name with two ranks cannot stand for either: 0 (never a rank) marks it for a clear diagnostic.
        for name in conflicting { ranks[name] = 0 }

        let allocationFile = sources.allocation.file
        var allocation: AllocationPolicy?
        let sink = DiagnosticSink(file: allocationFile)
        switch sources.allocation.text {
        case .success(let text):
            allocation = AllocationPolicy.parse(
                text, file: allocationFile, sink: sink, ranks: policies.isEmpty ? nil : ranks,
                kinds: roster.map { Set($0.kinds) })
        case .failure(let error):
            sink.error(nil, error.message)
        }
        diagnostics += sink.diagnostics

        var policyForKind: [String: Int] = [:]
        if let roster {
            let rosterFile = roster.file ?? "roster"
            var used = Set<Int>()
            for kind in roster.kinds {
                let team = roster.teamForKind[kind]
                let probe = Referral(
                    id: "probe", person: "probe", kind: kind, team: team, received: Date(timeIntervalSince1970: 0))
                let context = RuleContext(referral: probe, now: probe.received)
                let matches = policies.indices.filter { policies[$0].appliesTo.evaluate(context) }
                used.formUnion(matches)
                if matches.isEmpty {
                    // A policy file with errors may be the one for this kind: do not pile a second error on it.
                    if unreadable > 0 { continue }
                    diagnostics.append(
                        Diagnostic(
                            file: rosterFile, position: roster.kindPositions[kind],
                            message:
                                "no triage policy applies to kind '\(kind)' (handled by team '\(team ?? "?")'): add one to \(triageDir)"
                        ))
                } else if matches.count > 1 {
                    let names = matches.map { "\(policies[$0].id) (\(policies[$0].file))" }.joined(separator: ", ")
                    for i in matches.dropFirst() {
                        diagnostics.append(
                            Diagnostic(
                                file: policies[i].file, position: policies[i].appliesToPosition, key: "applies_to",
                                message:
                                    "more than one triage policy applies to kind '\(kind)': \(names); exactly one must")
                        )
                    }
                } else {
                    policyForKind[kind] = matches[0]
                }
            }
            diagnostics += skillWarnings(roster: roster, allocation: allocation)
            for (i, p) in policies.enumerated() where !used.contains(i) {
                diagnostics.append(
                    Diagnostic(
                        file: p.file, position: p.appliesToPosition, key: "applies_to", severity: .warning,
                        message:
                            "policy '\(p.id)' applies to no kind the roster names (\(roster.kinds.joined(separator: ", ")))"
                    ))
            }
        }

        guard !diagnostics.hasErrors, let allocation else { return (nil, diagnostics) }
        let set = PolicySet(
            directory: directory, triage: policies, allocation: allocation, policyForKind: policyForKind,
            files: (triageFiles + [allocationFile]).sorted())
        return (set, diagnostics)
    }
}
