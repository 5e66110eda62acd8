import DutyCore
import DutyPolicy
import Foundation

/// What one person is sent for one cycle: every escalation raised to them, grouped into one message (the idea
/// of Prometheus Alertmanager's grouping). Escalations stay events, one per referral, so the log is complete;
/// this is only what is sent and how.
public struct Digest: Sendable, Equatable {
    /// One referral listed by name.
    public struct Item: Sendable, Equatable {
        public var referral: String
        public var reason: EscalationReason
        public var level: String?
        public var rank: Int?
        public var position: Int
        public var since: Date
    }

    /// Referrals folded into a count: same reason and level.
    public struct Fold: Sendable, Equatable {
        public var reason: EscalationReason
        public var level: String?
        public var count: Int
    }

    /// The roster id it goes to; nil when nobody in the chain was present.
    public var recipient: String?
    /// Team capacity alerts raised or cleared in this cycle, for the team's first present manager.
    public var alerts: [CapacityAlert] = []
    /// `unallocated_overdue` escalations below the top rank not sent because their team's capacity alert stands:
    /// asking a manager for room that does not exist adds nothing to the alert.
    public var inhibited = 0
    /// Every referral at its policy's top rank on its risk (a new risk, not lateness), then others while the
    /// message lists at most `listLimit`.
    public var listed: [Item] = []
    public var folded: [Fold] = []

    /// Referrals listed by name in one message beyond those at the top rank, which are always listed.
    public static let listLimit = 50

    /// Escalations in this digest, listed and folded.
    public var count: Int { listed.count + folded.reduce(0) { $0 + $1.count } }

    /// Whether there is anything to send.
    public var isEmpty: Bool { count == 0 && alerts.isEmpty }

    /// Groups a plan's escalations by recipient, recipients in id order (nobody present last). `snapshot` is the
    /// one the plan was made from: it gives each referral's level, and each policy's top rank.
    public static func group(_ plan: Plan, snapshot: Snapshot) -> [Digest] {
        // Alerts standing after this cycle inhibit below-top-rank `unallocated_overdue` sends for their team.
        var standing = snapshot.capacityAlerts
        for a in plan.alerts {
            if a.exceeded { standing.insert(a.team) } else { standing.remove(a.team) }
        }
        var inhibited: [String?: Int] = [:]
        var ratingOf: [Int: Rating] = [:]
        for (k, d) in plan.decisions.enumerated() {
            switch d {
            case .rated(_, let r, _): ratingOf[plan.positions[k]] = r
            case .rerated(_, _, let r, _): ratingOf[plan.positions[k]] = r
            default: break
            }
        }
        let policies = Dictionary(snapshot.policies.triage.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        /// At its policy's top rank on its risk (its rules without aging ones reach it): a new risk, listed by
        /// name; work there only by waiting is late, and folds like the rest.
        func isTopRisk(_ rating: Rating?) -> Bool {
            guard let rating, let policy = policies[rating.policy], let top = policy.levels.map(\.rank).max(),
                rating.rank == top
            else { return false }
            let matched = rating.rules.compactMap { id in policy.rules.firstIndex { $0.id == id } }
            return policy.levels[policy.riskLevel(matched: matched)].rank == top
        }
        var byRecipient: [String?: [(Item, Bool)]] = [:]
        for (k, d) in plan.decisions.enumerated() {
            guard case .escalated(let e) = d else { continue }
            let i = plan.positions[k]
            let rating = ratingOf[i] ?? snapshot.referrals[i].rating
            let (level, rank) = (rating?.level, rating?.rank)
            let top = isTopRisk(rating)
            let team =
                snapshot.referrals[i].referral.team ?? snapshot.roster.teamForKind[snapshot.referrals[i].referral.kind]
            if !top, e.reason == .unallocatedOverdue, let team, standing.contains(team) {
                inhibited[e.to, default: 0] += 1
                continue
            }
            let item = Item(
                referral: e.referral, reason: e.reason, level: level, rank: rank, position: e.position, since: e.since)
            byRecipient[e.to, default: []].append((item, top))
        }
        // Each alert goes to the first present person in its team's chain.
        var alertsFor: [String?: [CapacityAlert]] = [:]
        let present = Presence(absences: snapshot.absences, now: plan.now)
        for a in plan.alerts {
            let to = snapshot.roster.chain(forTeam: a.team).first { !present.isAbsent($0) }
            alertsFor[to, default: []].append(a)
        }
        let recipients = Set(byRecipient.keys).union(alertsFor.keys).union(inhibited.keys)
        return recipients.sorted { ($0 ?? "\u{10FFFF}") < ($1 ?? "\u{10FFFF}") }.map { recipient in
            var digest = Digest(recipient: recipient)
            digest.alerts = alertsFor[recipient] ?? []
            digest.inhibited = inhibited[recipient] ?? 0
            let items = byRecipient[recipient] ?? []
            let room = max(0, listLimit - items.filter(\.1).count)
            var others = 0
            var folds: [String: Fold] = [:]
            for (item, top) in items {
                if top || others < room {
                    digest.listed.append(item)
                    if !top { others += 1 }
                } else {
                    let key = item.reason.rawValue + "\u{0}" + (item.level ?? "")
                    folds[key, default: Fold(reason: item.reason, level: item.level, count: 0)].count += 1
                }
            }
            digest.folded = folds.sorted { $0.key < $1.key }.map(\.value)
            return digest
        }
    }

    /// Several messages for one recipient as one (what waited in the outbox together): counts summed, lists
    /// joined, the latest `at`. Nil unless every one is a `notification`.
    public static func merged(_ messages: [JSONValue]) -> JSONValue? {
        guard messages.count > 1, messages.allSatisfy({ $0["type"]?.stringValue == "notification" }) else {
            return messages.count == 1 ? messages[0] : nil
        }
        func sum(_ key: String) -> [(String, JSONValue)] {
            var totals: [String: Int64] = [:]
            for m in messages {
                if case .object(let members)? = m[key] {
                    for (k, v) in members { totals[k, default: 0] += v.intValue ?? 0 }
                }
            }
            return totals.sorted { $0.key < $1.key }.map { ($0.key, .int($0.value)) }
        }
        func joined(_ key: String) -> JSONValue {
            .array(messages.flatMap { m -> [JSONValue] in if case .array(let items)? = m[key] { items } else { [] } })
        }
        let at: String? = messages.compactMap { $0["at"]?.stringValue }.max()
        var count: Int64 = 0
        var inhibited: Int64 = 0
        for m in messages {
            count += m["count"]?.intValue ?? 0
            inhibited += m["inhibited"]?.intValue ?? 0
        }
        let to: JSONValue = messages[0]["to"] ?? .null
        var members: [(String, JSONValue)] = [("type", .string("notification")), ("at", .string(at)), ("to", to)]
        members += [("count", .int(count)), ("inhibited", .int(inhibited)), ("alerts", joined("alerts"))]
        members += [("by_reason", .object(sum("by_reason"))), ("by_level", .object(sum("by_level")))]
        members += [("escalations", joined("escalations")), ("folded", joined("folded"))]
        members.append(("messages", .int(Int64(messages.count))))
        return .object(members)
    }

    /// The message as `notify_command` reads it on stdin: one line of JSON. `escalations` holds each listed
    /// escalation as its `escalation.raised` event (`at`, `type`, `referral`, `actor`, `data`), with the
    /// referral's `level` and `rank`; `folded` the rest as counts by reason and level.
    public func json(at: Date) -> JSONValue {
        var byReason: [String: Int] = [:]
        var byLevel: [String: Int] = [:]
        for i in listed {
            byReason[i.reason.rawValue, default: 0] += 1
            byLevel[i.level ?? "unrated", default: 0] += 1
        }
        for f in folded {
            byReason[f.reason.rawValue, default: 0] += f.count
            byLevel[f.level ?? "unrated", default: 0] += f.count
        }
        return .object([
            ("type", .string("notification")), ("at", .time(at)), ("to", .string(recipient)),
            ("count", .int(Int64(count))), ("inhibited", .int(Int64(inhibited))),
            ("alerts", .array(alerts.map { .object([("type", .string($0.eventType)), ("data", $0.eventData)]) })),
            ("by_reason", .object(byReason.sorted { $0.key < $1.key }.map { ($0.key, .int(Int64($0.value))) })),
            ("by_level", .object(byLevel.sorted { $0.key < $1.key }.map { ($0.key, .int(Int64($0.value))) })),
            (
                "escalations",
                .array(
                    listed.map {
                        .object([
                            ("at", .time(at)), ("type", .string("escalation.raised")),
                            ("referral", .string($0.referral)),
                            ("actor", .string("dutyd")),
                            (
                                "data",
                                .object([
                                    ("reason", .string($0.reason.rawValue)), ("to", .string(recipient)),
                                    ("chain_position", .int(Int64($0.position))), ("since", .time($0.since)),
                                ])
                            ),
                            ("level", .string($0.level)), ("rank", $0.rank.map { .int(Int64($0)) } ?? .null),
                        ])
                    })
            ),
            (
                "folded",
                .array(
                    folded.map {
                        .object([
                            ("reason", .string($0.reason.rawValue)), ("level", .string($0.level)),
                            ("count", .int(Int64($0.count))),
                        ])
                    })
            ),
        ])
    }
}
