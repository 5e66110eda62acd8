/// Reading and validating a roster file (SPEC "Roster").
extension Roster {
    /// Loads and validates `path`. Throws `invalidData` with every diagnostic when anything is wrong.
    public static func load(path: String) throws(DutyError) -> (Roster, [Diagnostic]) {
        let text = try SourceFile.read(path, what: "roster")
        let (roster, diagnostics) = parse(text, file: path)
        guard let roster, !diagnostics.hasErrors else { throw DutyError.invalid(diagnostics, what: "roster \(path)") }
        return (roster, diagnostics)
    }

    /// Parses and validates roster text; the roster is nil only when the file cannot be read as a roster at all.
    public static func parse(_ text: String, file: String) -> (Roster?, [Diagnostic]) {
        let sink = DiagnosticSink(file: file)
        guard let root = NodeDecoding.parse(text, sink: sink),
            let top = ObjectFields(root, what: "the roster", sink: sink)
        else { return (nil, sink.diagnostics) }
        var services: [Service] = []
        var teams: [Team] = []
        var workers: [Worker] = []
        var teamKindPositions: [String: [(String, SourcePosition)]] = [:]
        var refs: [(id: String, position: SourcePosition, what: String, mustBe: RefKind)] = []

        func items(_ key: String) -> [JSONNode] {
            guard let n = top.node(key, required: true) else { return [] }
            guard case .array(let list) = n.value else {
                sink.error(n.position, "'\(key)' must be a list, not \(n.typeName)")
                return []
            }
            return list
        }
        func checkID(_ id: String, _ position: SourcePosition, _ what: String, _ seen: inout Set<String>) {
            if id.isEmpty || !ReferralDecoder.isValidID(id) {
                sink.error(position, "\(what) id '\(id)' must be 1-64 characters of A-Z a-z 0-9 . _ : / -")
            }
            if !seen.insert(id).inserted { sink.error(position, "duplicate \(what) id '\(id)'") }
        }
        func refList(_ o: ObjectFields, _ key: String, _ what: String, _ mustBe: RefKind) -> [String] {
            guard let n = o.node(key) else { return [] }
            guard let list = NodeDecoding.strings(n, sink: sink, what: "'\(key)' in \(o.what)") else { return [] }
            if case .array(let nodes) = n.value {
                for (id, node) in zip(list, nodes) { refs.append((id, node.position, what, mustBe)) }
            }
            return list
        }
        func ref(_ o: ObjectFields, _ key: String, _ what: String, _ mustBe: RefKind, required: Bool = false) -> String?
        {
            guard let id = o.string(key, required: required) else { return nil }
            refs.append((id, o.node(key)!.position, what, mustBe))
            return id
        }

        var seenServices = Set<String>()
        for node in items("services") {
            guard let o = ObjectFields(node, what: "a service", sink: sink) else { continue }
            let id = o.string("id", required: true) ?? ""
            checkID(id, node.position, "service", &seenServices)
            let name = o.string("name") ?? id
            let head = ref(o, "head", "head of service '\(id)'", .manager)
            let duty = refList(o, "duty_managers", "duty manager of service '\(id)'", .manager)
            o.finish()
            services.append(Service(id: id, name: name, head: head, dutyManagers: duty))
        }
        var seenTeams = Set<String>()
        for node in items("teams") {
            guard let o = ObjectFields(node, what: "a team", sink: sink) else { continue }
            let id = o.string("id", required: true) ?? ""
            checkID(id, node.position, "team", &seenTeams)
            let name = o.string("name") ?? id
            let service = ref(o, "service", "service of team '\(id)'", .service, required: true) ?? ""
            let manager = ref(o, "manager", "manager of team '\(id)'", .manager)
            let deputies = refList(o, "deputies", "deputy of team '\(id)'", .manager)
            let kinds = o.strings("kinds") ?? []
            if let n = o.node("kinds"), case .array(let nodes) = n.value {
                for (k, kn) in zip(kinds, nodes) { teamKindPositions[k, default: []].append((id, kn.position)) }
                for (k, kn) in zip(kinds, nodes) where !ReferralDecoder.isValidFlag(k) {
                    sink.error(kn.position, "kind '\(k)' must be lower-case letters, digits and _")
                }
            }
            if manager == nil && deputies.isEmpty {
                sink.warning(
                    node.position, "team '\(id)' has no manager or deputies: its allocations fall to the service")
            }
            o.finish()
            teams.append(Team(id: id, name: name, service: service, manager: manager, deputies: deputies, kinds: kinds))
        }
        var seenWorkers = Set<String>()
        var unixUsers: [String: String] = [:]
        for node in items("workers") {
            guard let o = ObjectFields(node, what: "a worker", sink: sink) else { continue }
            let id = o.string("id", required: true) ?? ""
            checkID(id, node.position, "worker", &seenWorkers)
            let name = o.string("name") ?? id
            let unixUser = o.string("unix_user")
            if let u = unixUser {
                if let other = unixUsers[u] {
                    sink.error(o.node("unix_user")!.position, "unix_user '\(u)' is already used by worker '\(other)'")
                }
                unixUsers[u] = id
            }
            let team = ref(o, "team", "team of worker '\(id)'", .team, required: true) ?? ""
            let role = o.string("role", required: true) ?? ""
            let skills = o.strings("skills") ?? []
            var capacity = 0.0
            if let c = o.number("capacity") {
                if c < 0 { sink.error(o.node("capacity")!.position, "capacity of worker '\(id)' must not be negative") }
                capacity = c
            } else if !Worker.managerRoles.contains(role) && !o.has("capacity") {
                sink.warning(node.position, "worker '\(id)' has no capacity: duty will never allocate work to them")
            }
            let experience = o.integer("experience", in: 1...5) ?? 1
            let asye = o.bool("asye") ?? false
            o.finish()
            workers.append(
                Worker(
                    id: id, name: name, unixUser: unixUser, team: team, role: role, skills: skills, capacity: capacity,
                    experience: experience, asye: asye))
        }
        top.finish()

        var roster = Roster(services: services, teams: teams, workers: workers)
        roster.file = file
        for (kind, handlers) in teamKindPositions { roster.kindPositions[kind] = handlers.first?.1 }
        for r in refs {
            switch r.mustBe {
            case .service:
                if roster.serviceByID[r.id] == nil {
                    sink.error(r.position, "\(r.what): unknown service '\(r.id)'\(suggest(r.id, seenServices))")
                }
            case .team:
                if roster.teamByID[r.id] == nil {
                    sink.error(r.position, "\(r.what): unknown team '\(r.id)'\(suggest(r.id, seenTeams))")
                }
            case .manager:
                if let w = roster.workerByID[r.id] {
                    if !w.isManager {
                        sink.error(
                            r.position,
                            "\(r.what): worker '\(r.id)' has role '\(w.role)', not a manager role (team_manager, deputy_manager, service_manager, head_of_service)"
                        )
                    }
                } else {
                    sink.error(r.position, "\(r.what): unknown worker '\(r.id)'\(suggest(r.id, seenWorkers))")
                }
            }
        }
        for (kind, handlers) in teamKindPositions.sorted(by: { $0.key < $1.key }) where handlers.count > 1 {
            let names = handlers.map { "'\($0.0)'" }.joined(separator: " and ")
            for (_, position) in handlers.dropFirst() {
                sink.error(
                    position, "kind '\(kind)' is handled by more than one team (\(names)): each kind needs exactly one")
            }
        }
        return (roster, sink.diagnostics)
    }

    enum RefKind { case service, team, manager }

    private static func suggest(_ id: String, _ known: Set<String>) -> String {
        closestMatch(id, in: known.sorted()).map { "; did you mean '\($0)'?" } ?? ""
    }
}
