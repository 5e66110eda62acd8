import DutyCore
import DutyPolicy
import DutyStore
import Foundation

/// What one pass over the spool did.
struct SpoolReport: Equatable {
    var files = 0
    var new = 0
    var updated = 0
    var closed = 0
    var unchanged = 0
    var rejectedRecords = 0
    var rejectedFiles = 0

    var changed: Int { new + updated + closed }
}

/// The intake spool: `incoming/` is read, and each file moves to `processed/` when every record was valid, or to
/// `rejected/` beside `NAME.errors.json` when any was not (its valid records are still accepted) or when it could
/// not be read at all. Files ending `.tmp` and dot-files are being written and are left alone.
struct Spool {
    let root: String
    var incoming: String { root + "/incoming" }
    var processed: String { root + "/processed" }
    var rejected: String { root + "/rejected" }

    /// Records per transaction: a large file is committed in batches, so memory stays bounded.
    static let batchSize = 5_000
    /// Error entries kept per file in `NAME.errors.json` and logged as `intake.rejected` events.
    static let maxErrors = 1_000

    func prepare() throws {
        for dir in [incoming, processed, rejected] {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        }
    }

    /// Files waiting in `incoming/`, oldest name first.
    func pending() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: incoming)) ?? []
        return names.filter { !$0.hasPrefix(".") && !$0.hasSuffix(".tmp") }.sorted().filter { name in
            var isDir: ObjCBool = false
            return FileManager.default.fileExists(atPath: incoming + "/" + name, isDirectory: &isDir)
                && !isDir.boolValue
        }
    }

    /// Reads every pending file into the store.
    func process(
        store: Store, roster: Roster, policies: PolicySet, timeZone: TimeZone, now: Date, log: Logger
    ) throws -> SpoolReport {
        var report = SpoolReport()
        let kinds = Set(roster.kinds.filter { policies.policyForKind[$0] != nil })
        let decoder = ReferralDecoder(timeZone: timeZone, knownKinds: kinds, knownTeams: Set(roster.teams.map(\.id)))
        for name in pending() {
            report.files += 1
            try processFile(name, store: store, roster: roster, decoder: decoder, now: now, log: log, report: &report)
        }
        return report
    }

    private struct Problem {
        var location: RecordLocation?
        var field: String?
        var message: String
        var referral: String?

        var json: JSONValue {
            .object([
                ("index", location?.index.map { .int(Int64($0)) } ?? .null),
                ("line", location?.line.map { .int(Int64($0)) } ?? .null), ("field", .string(field)),
                ("message", .string(message)),
            ])
        }
    }

    private func processFile(
        _ name: String, store: Store, roster: Roster, decoder: ReferralDecoder, now: Date, log: Logger,
        report: inout SpoolReport
    ) throws {
        let path = incoming + "/" + name
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        let size = (attributes?[.size] as? NSNumber)?.int64Value ?? 0
        let mtime = (attributes?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
        let fileID = "\(name):\(size):\(Int64(mtime))"
        var batch: [Referral] = []
        var problems: [Problem] = []
        var badRecords = 0
        var fatal: String?

        func flush(final: Bool) throws {
            guard !batch.isEmpty || (final && (badRecords > 0 || fatal != nil)) else { return }
            var logRejections = false
            if final && (badRecords > 0 || fatal != nil) { logRejections = try !store.rejectionsLogged(fileID: fileID) }
            try store.write(at: now) { tx in
                let result = try tx.intake(batch, source: name)
                report.new += result.new.count
                report.updated += result.updated.count
                report.closed += result.closed.count
                report.unchanged += result.unchanged.count
                guard logRejections else { return }
                for p in problems {
                    try tx.append(
                        NewEvent(
                            type: "intake.rejected", referral: p.referral,
                            data: .object([
                                ("file", .string(name)), ("file_id", .string(fileID)),
                                ("index", p.location?.index.map { .int(Int64($0)) } ?? .null),
                                ("line", p.location?.line.map { .int(Int64($0)) } ?? .null),
                                ("field", .string(p.field)),
                                ("message", .string(p.message)),
                            ])))
                }
                if badRecords > problems.count {
                    try tx.append(
                        NewEvent(
                            type: "intake.rejected",
                            data: .object([
                                ("file", .string(name)), ("file_id", .string(fileID)), ("index", .null),
                                ("line", .null),
                                ("field", .null),
                                ("message", .string("\(badRecords - problems.count) more bad records not listed")),
                            ])))
                }
            }
            batch.removeAll(keepingCapacity: true)
        }

        if let format = SpoolReader.Format(fileName: name) {
            do {
                try SpoolReader(decoder: decoder).read(path, format: format) { location, result in
                    switch result {
                    case .valid(var referral):
                        if referral.team == nil { referral.team = roster.teamForKind[referral.kind] }
                        batch.append(referral)
                        if batch.count >= Self.batchSize { try flush(final: false) }
                    case .invalid(let errors):
                        badRecords += 1
                        for e in errors where problems.count < Self.maxErrors {
                            problems.append(
                                Problem(
                                    location: location, field: e.field.isEmpty ? nil : e.field, message: e.message,
                                    referral: nil))
                        }
                    }
                }
            } catch let error as SpoolReader.Unreadable {
                fatal = error.message
            }
        } else {
            fatal = "unsupported file type: the spool reads .json, .jsonl and .csv files"
        }
        if let fatal { problems.insert(Problem(location: nil, field: nil, message: fatal, referral: nil), at: 0) }
        try flush(final: true)

        let accepted = fatal == nil && badRecords == 0
        if accepted {
            try move(path, to: processed, name: name)
        } else {
            let target = try move(path, to: rejected, name: name)
            let errors = JSONValue.object([
                ("file", .string(name)), ("rejected_at", .time(now)),
                ("unreadable", fatal.map { .string($0) } ?? .null), ("bad_records", .int(Int64(badRecords))),
                ("errors", .array(problems.map(\.json))),
            ])
            try Data((errors.serialized() + "\n").utf8).write(to: URL(fileURLWithPath: target + ".errors.json"))
            report.rejectedRecords += badRecords
            if fatal != nil { report.rejectedFiles += 1 }
            log.warning(
                fatal.map { "spool: \(name) rejected whole: \($0)" }
                    ?? "spool: \(name): \(badRecords) bad record\(badRecords == 1 ? "" : "s") rejected (see \(target).errors.json)"
            )
        }
    }

    /// Moves a file into `folder`, adding a suffix when a file of that name is already there. Returns the new path.
    @discardableResult
    private func move(_ path: String, to folder: String, name: String) throws -> String {
        var target = folder + "/" + name
        var n = 1
        while FileManager.default.fileExists(atPath: target) {
            n += 1
            target = folder + "/" + name + ".\(n)"
        }
        try FileManager.default.moveItem(atPath: path, toPath: target)
        return target
    }
}
