import DutyCore
import DutyPolicy

/// Each open referral's kind and team as positions, worked out once per cycle, so that triage, allocation and
/// oversight index small arrays instead of hashing a kind or team name for every referral at every step.
struct CycleIndex {
    /// Teams in roster order.
    let teams: NameTable
    var teamIDs: [String] { teams.names }
    /// Every kind the roster or the policies name, sorted.
    let kindIDs: [String]
    /// Per referral: its team (its own, else its kind's) in `teamIDs`; `noTeam` when it has none, `unknownTeam`
    /// when it names a team the roster does not have.
    let team: [Int]
    /// Per referral: its kind in `kindIDs`, or -1.
    let kind: [Int]
    /// Per kind: its triage policy in `policies.triage`, or -1 when it is found by `applies_to`.
    let policyOfKind: [Int]

    static let noTeam = -1
    static let unknownTeam = -2

    init(_ snapshot: Snapshot) {
        let roster = snapshot.roster
        let teams = NameTable(roster.teams.map(\.id))
        self.teams = teams
        kindIDs = Set(roster.teamForKind.keys).union(snapshot.policies.policyForKind.keys).sorted()
        let kinds = NameTable(kindIDs)
        let kindTeam = kindIDs.map { k in
            roster.teamForKind[k].map { teams.position(of: $0) ?? Self.unknownTeam } ?? Self.noTeam
        }
        policyOfKind = kindIDs.map { snapshot.policies.policyForKind[$0] ?? -1 }
        var team: [Int] = []
        var kind: [Int] = []
        team.reserveCapacity(snapshot.referrals.count)
        kind.reserveCapacity(snapshot.referrals.count)
        // By index, not `for open in`: that would copy every referral.
        let referrals = snapshot.referrals
        for i in referrals.indices {
            let k = kinds.position(of: referrals[i].referral.kind) ?? -1
            kind.append(k)
            if let t = referrals[i].referral.team {
                team.append(teams.position(of: t) ?? Self.unknownTeam)
            } else {
                team.append(k >= 0 ? kindTeam[k] : Self.noTeam)
            }
        }
        self.team = team
        self.kind = kind
    }
}
