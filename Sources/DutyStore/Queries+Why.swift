import DutyCore
import Foundation

/// What `duty why` reads: the referral and the allocated work, and the rest of its team's list as stored.
extension Store {
    /// What `duty why` needs of the open referrals to list one waiting referral's candidates: every allocated
    /// referral (the workers' loads) and that one, by id; not the rest of the waiting list.
    public func openReferrals(allocatedAnd id: String) throws -> [ReferralRow] {
        var out: [ReferralRow] = []
        try database.query("SELECT \(Self.referralColumns) FROM referrals WHERE state = 'allocated'") {
            out.append(Self.referralRow($0))
        }
        try database.query(
            "SELECT \(Self.referralColumns) FROM referrals WHERE id = ? AND state = 'waiting'", [.text(id)]
        ) { out.append(Self.referralRow($0)) }
        return out.sorted { $0.id < $1.id }
    }

    /// A waiting referral's place in the order as the last cycle rated it: no facts, flags or skills.
    public struct StoredPlace: Sendable {
        public var id: String
        public var kind: String
        public var team: String?
        public var received: Double
        public var rank: Int
        public var due: Double
        public var policy: String
        public var policyVersion: String
        /// The matched rules as stored: a JSON array of rule ids.
        public var rules: String
        public var pinRank: Int?
    }

    /// Every rated waiting referral whose `team` is `team`, or is unset and whose kind is one of `kinds`: what
    /// `duty why` places a referral among. One pass of the state index; a few strings per row.
    public func storedPlaces(team: String, kinds: [String]) throws -> [StoredPlace] {
        var out: [StoredPlace] = []
        let marks = kinds.map { _ in "?" }.joined(separator: ", ")
        try database.query(
            """
            SELECT id, kind, team, received, rank, due, policy, policy_version, rules, pin_rank FROM referrals
            WHERE state = 'waiting' AND rank IS NOT NULL
            AND (team = ? OR (team IS NULL AND kind IN (\(marks.isEmpty ? "NULL" : marks))))
            """, [.text(team)] + kinds.map { .text($0) }
        ) { r in
            out.append(
                StoredPlace(
                    id: r.text(0), kind: r.text(1), team: r.string(2), received: r.real(3), rank: Int(r.integer(4)),
                    due: r.double(5) ?? r.real(3), policy: r.string(6) ?? "", policyVersion: r.string(7) ?? "",
                    rules: r.string(8) ?? "[]", pinRank: r.int(9).map(Int.init)))
        }
        return out
    }
}
