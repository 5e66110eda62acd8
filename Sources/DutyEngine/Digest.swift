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
    /// Every referral at its policy's top rank, then others while the message lists at most `listLimit`.
    public var listed: [Item] = []
    public var folded: [Fold] = []

    /// Referrals listed by name in one message beyond those at the top rank, which are always listed.
    public static let listLimit = 50

    /// Escalations in this digest, listed and folded.
    public var count: Int { listed.count + folded.reduce(0) { $0 + $1.count } }

    /// Groups a plan's escalations by recipient, recipients in id order (nobody present last). `snapshot` is the
    /// one the plan was made from: it gives each referral's level, and each policy's top rank.
    public static func group(_ plan: Plan, snapshot: Snapshot) -> [Digest] {
        var levelOf: [Int: (String, Int)] = [:]
        for (k, d) in plan.decisions.enumerated() {
            switch d {
            case .rated(_, let r, _): levelOf[plan.positions[k]] = (r.level, r.rank)
            case .rerated(_, _, let r, _): levelOf[plan.positions[k]] = (r.level, r.rank)
            default: break
            }
        }
        var topRank: [String: Int] = [:]
        for p in snapshot.policies.triage { topRank[p.id] = p.levels.map(\.rank).max() }
        var byRecipient: [String?: [(Item, Bool)]] = [:]
        for (k, d) in plan.decisions.enumerated() {
            guard case .escalated(let e) = d else { continue }
            let i = plan.positions[k]
            let rating = snapshot.referrals[i].rating
            let (level, rank) = levelOf[i].map { ($0.0, Optional($0.1)) } ?? (rating?.level, rating?.rank)
            let top = rank != nil && rank == rating.flatMap { topRank[$0.policy] }
            let item = Item(
                referral: e.referral, reason: e.reason, level: level, rank: rank, position: e.position, since: e.since)
            byRecipient[e.to, default: []].append((item, top))
        }
        return byRecipient.keys.sorted { ($0 ?? "\u{10FFFF}") < ($1 ?? "\u{10FFFF}") }.map { recipient in
            var digest = Digest(recipient: recipient)
            let items = byRecipient[recipient]!
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
            ("count", .int(Int64(count))),
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
