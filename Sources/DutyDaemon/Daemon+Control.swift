import DutyControl
import DutyCore
import DutyEngine
import DutyPolicy
import DutyStore
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Who is calling over the control socket.
struct Caller: Sendable {
    var uid: uid_t
    var user: String?
    /// The roster person whose `unix_user` is `user`.
    var worker: Worker?
    /// root or the daemon's own user: may run cycles and reloads.
    var isSystem: Bool

    var name: String { worker.map { "\($0.id) (\(user ?? "?"))" } ?? user ?? "uid \(uid)" }
}

extension Daemon {
    /// Resolves a peer uid to a user name and a roster person.
    func caller(uid: uid_t) -> Caller {
        var pwd = passwd()
        var buffer = [CChar](repeating: 0, count: 4_096)
        var result: UnsafeMutablePointer<passwd>?
        var user: String?
        if getpwuid_r(uid, &pwd, &buffer, buffer.count, &result) == 0, let result {
            user = String(cString: result.pointee.pw_name)
        }
        let worker = user.flatMap { roster.workerByUnixUser[$0] }
        return Caller(uid: uid, user: user, worker: worker, isSystem: uid == 0 || uid == getuid())
    }

    /// Handles one request on the cycle queue: authorise, act (writing events), answer.
    func handle(_ request: ControlRequest, from caller: Caller) -> ControlResponse {
        dispatchPrecondition(condition: .onQueue(queue))
        if let id = request.requestID, let done = answered.response(to: id, op: request.op.rawValue, uid: caller.uid) {
            log.info("control: \(caller.name): \(request.op.rawValue) request \(id) was done already: answered again")
            return done
        }
        do {
            let response = try perform(request, caller: caller)
            if let id = request.requestID, response.ok {
                answered.remember(id, op: request.op.rawValue, uid: caller.uid, response: response)
            }
            publishHead()
            delivery.pump()  // a manager's decision goes to the case system now, not at the next cycle
            if request.op != .status {
                log.info(
                    "control: \(caller.name): \(request.op.rawValue)\(request.referral.map { " \($0)" } ?? "") done")
            }
            return response
        } catch let error as DutyError {
            if error.code == .permissionDenied {
                log.warning(
                    "control: refused \(request.op.rawValue)\(request.referral.map { " \($0)" } ?? "") from \(caller.name): \(error.message)"
                )
            }
            return .failure(error)
        } catch {
            log.error("control: \(request.op.rawValue) failed: \(error)")
            return .failure(DutyError(.failure, "\(error)"))
        }
    }

    private func chainOf(referral row: ReferralRow) -> [String] {
        roster.chain(forTeam: row.team ?? roster.teamForKind[row.kind] ?? "")
    }

    private func requireChain(_ caller: Caller, _ chain: [String], what: String) throws(DutyError) {
        guard let id = caller.worker?.id, chain.contains(id) else {
            throw DutyError(
                .permissionDenied,
                "only the accountable chain may \(what): \(chain.joined(separator: ", "))"
                    + (caller.worker == nil ? "; you (\(caller.name)) are not in the roster" : ""))
        }
    }

    private func requireText(_ value: String?, _ name: String) throws(DutyError) -> String {
        guard let v = value?.trimmingCharacters(in: .whitespacesAndNewlines), !v.isEmpty else {
            throw DutyError(.usage, "a \(name) is required")
        }
        return v
    }

    private func openReferral(_ id: String?) throws -> ReferralRow {
        guard let id, let row = try store.referral(id), row.state != "closed" else {
            throw DutyError(.notFound, "no open referral '\(id ?? "")'")
        }
        return row
    }

    private func perform(_ request: ControlRequest, caller: Caller) throws -> ControlResponse {
        let now = clock()
        let by = caller.worker?.id ?? caller.user ?? "uid \(caller.uid)"
        switch request.op {
        case .status:
            return ControlResponse(
                ok: true, message: lastStatus ?? "no cycle yet",
                result: .object([
                    ("version", .string(DutyVersion.string)), ("last_cycle", .time(lastCycle)),
                    ("status", .string(lastStatus)), ("source", source?.state.json ?? .null),
                ]))
        case .cycle, .reload:
            guard caller.isSystem || caller.worker?.isManager == true else {
                throw DutyError(.permissionDenied, "only managers, root or dutyd's own user may \(request.op.rawValue)")
            }
            if request.op == .reload {
                do {
                    try reloadOrFail()
                } catch {
                    // The caller sees what the log says: each diagnostic with its file:line:col.
                    let lines = error.diagnostics.sortedForDisplay().map(\.description)
                    throw DutyError(
                        .invalidData,
                        (["reload failed, dutyd keeps the previous configuration: \(error.message)"] + lines).joined(
                            separator: "\n"))
                }
                return ControlResponse(ok: true, message: "reloaded")
            }
            let report = try cycle()
            record(report, at: now)
            return ControlResponse(ok: true, message: report.status)
        case .assign:
            let row = try openReferral(request.referral)
            try requireChain(caller, chainOf(referral: row), what: "assign \(row.id)")
            let reason = try requireText(request.reason, "reason (--reason)")
            guard let workerID = request.worker, let worker = roster.workerByID[workerID] else {
                throw DutyError(.notFound, "no worker '\(request.worker ?? "")' in the roster")
            }
            // An override may break eligibility; the event records what it broke.
            var broke: [String] = []
            let team = row.team ?? roster.teamForKind[row.kind]
            if worker.team != team { broke.append("team") }
            if row.worker == workerID {
                throw DutyError(.usage, "\(row.id) is already allocated to \(workerID)")
            }
            if let candidate = Engine.candidates(for: row.id, in: try self.snapshot(), now: now)?
                .first(where: { $0.worker == workerID }), let e = candidate.excludedBy
            {
                broke.append(e.description)
            } else if worker.team != team {
                // Not a candidate of the team at all: check capacity and absence plainly.
                if try store.absences(endingAfter: now).contains(where: {
                    $0.absence.worker == workerID && $0.absence.covers(now)
                }) {
                    broke.append("absent")
                }
            }
            try store.write(at: now) { tx in
                try tx.append(
                    NewEvent(
                        type: "override.assigned", referral: row.id, actor: by,
                        data: .object([
                            ("by", .string(by)), ("from", .string(row.worker)), ("to", .string(workerID)),
                            ("reason", .string(reason)), ("broke", .strings(broke)),
                        ])))
            }
            return ControlResponse(
                ok: true,
                message: "\(row.id) assigned to \(workerID)"
                    + (broke.isEmpty ? "" : " (overriding: \(broke.joined(separator: ", ")))"),
                result: .object([("broke", .strings(broke))]))
        case .unassign:
            let row = try openReferral(request.referral)
            try requireChain(caller, chainOf(referral: row), what: "unassign \(row.id)")
            let reason = try requireText(request.reason, "reason (--reason)")
            guard row.state == "allocated", let from = row.worker else {
                throw DutyError(.usage, "\(row.id) is not allocated")
            }
            try store.write(at: now) { tx in
                try tx.append(
                    NewEvent(
                        type: "override.unassigned", referral: row.id, actor: by,
                        data: .object([("by", .string(by)), ("from", .string(from)), ("reason", .string(reason))])))
            }
            return ControlResponse(ok: true, message: "\(row.id) unassigned from \(from): it waits again")
        case .rerate:
            let row = try openReferral(request.referral)
            try requireChain(caller, chainOf(referral: row), what: "rerate \(row.id)")
            if request.clear {
                try store.write(at: now) { tx in
                    try tx.append(
                        NewEvent(
                            type: "override.rerated", referral: row.id, actor: by,
                            data: .object([
                                ("by", .string(by)), ("from", .string(row.pinLevel)), ("cleared", .bool(true)),
                                ("reason", .string(request.reason)),
                            ])))
                }
                return ControlResponse(
                    ok: true, message: "\(row.id): pin cleared; the policy rates it at the next cycle")
            }
            let reason = try requireText(request.reason, "reason (--reason)")
            guard let policy = policies.policy(for: row.referral) else {
                throw DutyError(.invalidData, "no triage policy applies to kind '\(row.kind)'")
            }
            guard let levelName = request.level, let level = policy.level(named: levelName) else {
                throw DutyError(
                    .usage,
                    "unknown level '\(request.level ?? "")' for \(policy.id): use \(policy.levels.map(\.name).joined(separator: ", "))"
                )
            }
            let policyRank = policy.triage(RuleContext(referral: row.referral, now: now, timeZone: config.timeZone))
                .level.rank
            try store.write(at: now) { tx in
                try tx.append(
                    NewEvent(
                        type: "override.rerated", referral: row.id, actor: by,
                        data: .object([
                            ("by", .string(by)), ("from", .string(row.level)), ("to", .string(level.name)),
                            ("rank", .int(Int64(level.rank))), ("policy_rank", .int(Int64(policyRank))),
                            ("due", .time(level.allocateWithin.after(row.received, in: config.timeZone))),
                            ("reason", .string(reason)),
                        ])))
            }
            return ControlResponse(ok: true, message: "\(row.id) pinned at \(level.name) until cleared")
        case .ack:
            let row = try openReferral(request.referral)
            try requireChain(caller, chainOf(referral: row), what: "acknowledge \(row.id)")
            guard row.state == "allocated" else { throw DutyError(.usage, "\(row.id) is not allocated") }
            if row.acknowledged != nil {
                return ControlResponse(
                    ok: true, message: "\(row.id) was already acknowledged by \(row.acknowledgedBy ?? "?")")
            }
            try store.write(at: now) { tx in
                try tx.append(
                    NewEvent(
                        type: "allocation.acknowledged", referral: row.id, actor: by,
                        data: .object([("by", .string(by))])))
            }
            return ControlResponse(ok: true, message: "\(row.id) acknowledged")
        case .reviewed:
            let row = try openReferral(request.referral)
            guard row.state == "waiting" else {
                throw DutyError(
                    .usage,
                    "\(row.id) is allocated to \(row.worker ?? "?"): reviews are for referrals still waiting (keeping in touch while they wait)"
                )
            }
            if caller.worker?.id == nil || caller.worker?.id != row.worker {
                try requireChain(
                    caller, chainOf(referral: row), what: "record a review of \(row.id) (or its allocated worker)")
            }
            let note = try requireText(request.note, "note (--note)")
            try store.write(at: now) { tx in
                try tx.append(
                    NewEvent(
                        type: "review.recorded", referral: row.id, actor: by,
                        data: .object([("by", .string(by)), ("note", .string(note))])))
            }
            return ControlResponse(ok: true, message: "review of \(row.id) recorded")
        case .absenceAdd:
            guard let workerID = request.worker, let worker = roster.workerByID[workerID] else {
                throw DutyError(.notFound, "no worker '\(request.worker ?? "")' in the roster")
            }
            if caller.worker?.id != workerID {
                try requireChain(
                    caller, roster.chain(forTeam: worker.team),
                    what: "record an absence for \(workerID) (or they themself)")
            }
            let utc = TimeZone(identifier: "UTC")!
            guard let from = request.from.flatMap({ ISOTime.parse($0, timeZone: utc) }),
                let to = request.to.flatMap({ ISOTime.parse($0, timeZone: utc) })
            else { throw DutyError(.usage, "an absence needs --from and --to times") }
            guard from < to else { throw DutyError(.usage, "the absence must end after it starts") }
            // The same absence again (a retry after a timeout, say) is the one already recorded, not a second.
            if let same = try store.absences(endingAfter: now).first(where: {
                $0.absence.worker == workerID && $0.absence.from == from && $0.absence.to == to
            }) {
                return ControlResponse(
                    ok: true, message: "absence \(same.absence.id) was already recorded for \(workerID)",
                    result: .object([("absence", .string(same.absence.id))]))
            }
            let id = "ABS-\(store.head.seq + 1)"
            try store.write(at: now) { tx in
                try tx.append(
                    NewEvent(
                        type: "absence.recorded", actor: by,
                        data: .object([
                            ("absence", .string(id)), ("worker", .string(workerID)), ("from", .time(from)),
                            ("to", .time(to)),
                            ("by", .string(by)), ("reason", .string(request.reason)),
                        ])))
            }
            return ControlResponse(
                ok: true, message: "absence \(id) recorded for \(workerID)", result: .object([("absence", .string(id))])
            )
        case .absenceEnd:
            guard let id = request.absence,
                let row = try store.absences().first(where: { $0.absence.id == id })
            else { throw DutyError(.notFound, "no absence '\(request.absence ?? "")'") }
            let workerID = row.absence.worker
            if caller.worker?.id != workerID {
                let team = roster.workerByID[workerID]?.team ?? ""
                try requireChain(
                    caller, roster.chain(forTeam: team), what: "end an absence of \(workerID) (or they themself)")
            }
            guard row.ended == nil, row.absence.to > now else {
                throw DutyError(.usage, "absence \(id) has already ended")
            }
            try store.write(at: now) { tx in
                try tx.append(
                    NewEvent(
                        type: "absence.ended", actor: by,
                        data: .object([("absence", .string(id)), ("worker", .string(workerID)), ("by", .string(by))])))
            }
            return ControlResponse(ok: true, message: "absence \(id) ended")
        }
    }
}

/// The writes dutyd has answered, by the id the client chose: the last 4,096 since dutyd started, in memory. A
/// request seen again (the same id, operation and caller) gets the same answer and is not done twice.
struct AnsweredRequests {
    private var responses: [String: ControlResponse] = [:]
    private var order: [String] = []
    static let limit = 4_096

    private static func key(_ id: String, _ op: String, _ uid: UInt32) -> String { "\(uid)\u{0}\(op)\u{0}\(id)" }

    func response(to id: String, op: String, uid: UInt32) -> ControlResponse? {
        responses[Self.key(id, op, uid)]
    }

    mutating func remember(_ id: String, op: String, uid: UInt32, response: ControlResponse) {
        let key = Self.key(id, op, uid)
        if responses.updateValue(response, forKey: key) == nil { order.append(key) }
        if order.count > Self.limit { responses[order.removeFirst()] = nil }
    }
}
