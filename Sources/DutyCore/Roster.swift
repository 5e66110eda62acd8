/// A group of teams with a head and duty managers: the top of the accountable-manager chain.
public struct Service: Sendable, Hashable, Identifiable {
    public var id: String
    public var name: String
    public var head: String?
    public var dutyManagers: [String]

    public init(id: String, name: String, head: String? = nil, dutyManagers: [String] = []) {
        self.id = id
        self.name = name
        self.head = head
        self.dutyManagers = dutyManagers
    }
}

public struct Team: Sendable, Hashable, Identifiable {
    public var id: String
    public var name: String
    public var service: String
    public var manager: String?
    public var deputies: [String]
    /// Kinds of referral this team handles; each kind is handled by exactly one team.
    public var kinds: [String]

    public init(
        id: String, name: String, service: String, manager: String? = nil, deputies: [String] = [],
        kinds: [String] = []
    ) {
        self.id = id
        self.name = name
        self.service = service
        self.manager = manager
        self.deputies = deputies
        self.kinds = kinds
    }
}

public struct Worker: Sendable, Hashable, Identifiable {
    /// Roles that mark a manager (SPEC "Roster").
    public static let managerRoles: Set<String> = [
        "team_manager", "deputy_manager", "service_manager", "head_of_service",
    ]

    public var id: String
    public var name: String
    public var unixUser: String?
    public var team: String
    public var role: String
    public var skills: [String]
    /// Caseload points; managers hold none unless given capacity.
    public var capacity: Double
    /// 1 (new) to 5 (most experienced).
    public var experience: Int
    /// A newly qualified social worker in the assessed year.
    public var asye: Bool

    public init(
        id: String, name: String, unixUser: String? = nil, team: String, role: String, skills: [String] = [],
        capacity: Double = 0, experience: Int = 1, asye: Bool = false
    ) {
        self.id = id
        self.name = name
        self.unixUser = unixUser
        self.team = team
        self.role = role
        self.skills = skills
        self.capacity = capacity
        self.experience = experience
        self.asye = asye
    }

    public var isManager: Bool { Self.managerRoles.contains(role) }
}

/// Who works where: services, teams and workers, with lookups by id.
public struct Roster: Sendable {
    public var services: [Service]
    public var teams: [Team]
    public var workers: [Worker]

    public private(set) var serviceByID: [String: Service] = [:]
    public private(set) var teamByID: [String: Team] = [:]
    public private(set) var workerByID: [String: Worker] = [:]
    /// The team that handles each kind.
    public private(set) var teamForKind: [String: String] = [:]
    public private(set) var workerByUnixUser: [String: Worker] = [:]
    /// The file the roster came from and where each kind is declared, for diagnostics about kinds.
    public var file: String?
    public var kindPositions: [String: SourcePosition] = [:]

    public init(services: [Service], teams: [Team], workers: [Worker]) {
        self.services = services
        self.teams = teams
        self.workers = workers
        for s in services where serviceByID[s.id] == nil { serviceByID[s.id] = s }
        for t in teams where teamByID[t.id] == nil {
            teamByID[t.id] = t
            for k in t.kinds where teamForKind[k] == nil { teamForKind[k] = t.id }
        }
        for w in workers where workerByID[w.id] == nil {
            workerByID[w.id] = w
            if let u = w.unixUser, workerByUnixUser[u] == nil { workerByUnixUser[u] = w }
        }
    }

    /// Every kind some team handles, sorted.
    public var kinds: [String] { teamForKind.keys.sorted() }

    /// The accountable chain for a team, in order: manager, deputies, the service's duty managers, its head.
    /// Duplicates are removed, keeping the first place.
    public func chain(forTeam teamID: String) -> [String] {
        guard let team = teamByID[teamID] else { return [] }
        var out: [String] = []
        func add(_ id: String?) {
            if let id, !out.contains(id) { out.append(id) }
        }
        add(team.manager)
        team.deputies.forEach(add)
        if let service = serviceByID[team.service] {
            service.dutyManagers.forEach(add)
            add(service.head)
        }
        return out
    }
}
