import DutyCore
import DutyPolicy
import DutyStore
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// What one pass over the spool did.
struct SpoolReport: Equatable {
    var files = 0
    var new = 0
    var updated = 0
    var closed = 0
    var unchanged = 0
    var rejectedRecords = 0
    var rejectedFiles = 0
    /// CSV rows that held only separators.
    var skippedRows = 0
    /// Files left in `incoming/` this pass: still being written, or not settled yet.
    var deferred = 0

    var changed: Int { new + updated + closed }
}

/// The intake spool: `incoming/` is read, and each file moves to `processed/` when every record was valid, or to
/// `rejected/` beside `NAME.errors.json` when any was not (its valid records are still accepted) or when it could
/// not be read at all. Files ending `.tmp` and dot-files are being written and are left alone.
///
/// What is read, and how (README, "The intake spool"):
/// - only regular files, opened without following a link (`O_NOFOLLOW`, `O_NONBLOCK`, then `fstat`): a link, FIFO,
///   socket or device is moved to `rejected/` with the reason, unread; a folder is left where it is, logged once;
/// - only files that have settled: unchanged in size and modification time for `settle` (a writer that does not
///   rename a `.tmp` file is given that long to finish), and unchanged while being read; a file that changed is
///   read again at the next pass, and its last record is never stored from a read that saw it change;
/// - at most `maxFileBytes` a file and `SpoolReader.maxRecordBytes` a record;
/// - moved files keep their name when it is free and short; otherwise they get a time suffix (never a search
///   through `name.2`, `name.3`...), and control characters in a name become `_`;
/// - a file that cannot be read or moved never stops the pass: it is logged once and the engine still runs.
struct Spool {
    let root: String
    /// How long a file must stay unchanged before it is read.
    var settle: TimeInterval = 1
    /// The group that may write `incoming/` (`spool_group`), if any.
    var group: String?
    /// The largest file read (`spool_max_file_mib`, default 256 MiB); a larger one is rejected whole.
    var maxFileBytes: Int64 = 256 << 20
    var incoming: String { root + "/incoming" }
    var processed: String { root + "/processed" }
    var rejected: String { root + "/rejected" }

    /// Records per transaction: a large file is committed in batches, so memory stays bounded.
    static let batchSize = 5_000
    /// Error entries kept per file in `NAME.errors.json` and logged as `intake.rejected` events.
    static let maxErrors = 1_000

    func prepare(log: Logger? = nil) throws {
        for dir in [incoming, processed, rejected] {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        }
        guard let group else { return }
        // The case-system integration's group writes `incoming/`; new files there take the folder's group.
        guard let gr = getgrnam(group) else {
            throw DutyError(.invalidData, "spool_group '\(group)' does not exist")
        }
        if chown(incoming, getuid(), gr.pointee.gr_gid) != 0 || chmod(incoming, 0o2770) != 0 {
            log?.warning("cannot give \(incoming) to group \(group): \(String(cString: strerror(errno)))")
        }
    }

    /// One entry of `incoming/`, as `lstat` saw it. `raw` is the name's bytes, which need not be UTF-8 (a
    /// Windows share's Latin-1 names); `name` is how messages and moved files show it.
    struct Entry {
        var raw: [UInt8]
        var info: stat
        var name: String { String(decoding: raw, as: UTF8.self) }
        var validName: Bool { String(validating: raw, as: UTF8.self) != nil }

        /// The entry's path in `folder`, as C wants it.
        func path(in folder: String) -> [CChar] {
            (Array((folder + "/").utf8) + raw).map { CChar(bitPattern: $0) } + [0]
        }

        var isRegular: Bool { (info.st_mode & S_IFMT) == S_IFREG }
        var isDirectory: Bool { (info.st_mode & S_IFMT) == S_IFDIR }
        var signature: String {
            "\(name):\(info.st_ino):\(info.st_size):\(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec)"
        }
        var modified: TimeInterval { Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1e9 }
    }

    /// Entries waiting in `incoming/`, by name (their bytes), without following links.
    func pending() -> [Entry] {
        guard let dir = opendir(incoming) else { return [] }
        defer { closedir(dir) }
        var names: [[UInt8]] = []
        while let d = readdir(dir) {
            let raw = withUnsafeBytes(of: d.pointee.d_name) { Array($0.prefix { $0 != 0 }) }
            guard raw.first != 0x2E, !raw.isEmpty else { continue }  // dot-files, . and ..
            guard !raw.reversed().starts(with: Array(".tmp".utf8).reversed()) else { continue }
            names.append(raw)
        }
        return names.sorted { $0.lexicographicallyPrecedes($1) }.compactMap { raw in
            var entry = Entry(raw: raw, info: stat())
            guard lstat(entry.path(in: incoming), &entry.info) == 0 else { return nil }
            return entry
        }
    }

    /// Reads every pending file into the store. `ignored` holds files already logged as impossible to move or
    /// read (by name, inode, size and time), kept by the daemon between passes so each is logged once.
    func process(
        store: Store, roster: Roster, policies: PolicySet, timeZone: TimeZone, now: Date, log: Logger,
        ignored: inout Set<String>, progress: () -> Void = {}
    ) throws -> SpoolReport {
        var report = SpoolReport()
        let decoder = policies.intakeDecoder(timeZone: timeZone, roster: roster, now: now)
        var entries = pending().filter { !ignored.contains($0.signature) }
        // Files written in the last `settle` are given the rest of it (once per pass), then must be unchanged.
        let wall = Date().timeIntervalSince1970
        let youngest = entries.filter(\.isRegular).map(\.modified).max() ?? 0
        if settle > 0 && wall - youngest < settle {
            Thread.sleep(forTimeInterval: min(settle, max(0, settle - (wall - youngest))))
            let again = Dictionary(pending().map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
            entries = entries.filter { e in
                guard e.isRegular else { return true }
                let settled = again[e.name].map { $0.signature == e.signature } ?? false
                if !settled { report.deferred += 1 }
                return settled
            }
        }
        let owners = OwnerNames(roster: roster)
        for entry in entries {
            progress()  // a pass over thousands of files is progress, not a hang (the watchdog)
            report.files += 1
            do {
                try processEntry(
                    entry, store: store, roster: roster, decoder: decoder, owners: owners, now: now, log: log,
                    report: &report)
            } catch let failure as StoreFailure {
                throw failure.error  // the database, not the file (a full disk): the cycle fails and is retried
            } catch {
                // Whatever went wrong with the file, the pass goes on; it is not tried again until it changes.
                ignored.insert(entry.signature)
                log.error(
                    "spool: \(Self.shown(entry.name)) left in incoming/: \(Self.shown("\(error)")) (it is not read again until it changes)"
                )
            }
        }
        return report
    }

    /// A name or message as it may appear in a log line: control characters escaped, at most 200 characters.
    static func shown(_ s: String) -> String {
        ReferralDecoder.escapingControlCharacters(s.count > 200 ? String(s.prefix(200)) + "..." : s)
    }

    /// An error from the store while a file was read: it fails the cycle rather than the file.
    private struct StoreFailure: Error {
        var error: any Error
    }

    private struct Problem {
        var location: RecordLocation?
        var field: String?
        var message: String

        var json: JSONValue {
            .object([
                ("index", location?.index.map { .int(Int64($0)) } ?? .null),
                ("line", location?.line.map { .int(Int64($0)) } ?? .null), ("field", .string(field)),
                ("message", .string(message)),
            ])
        }
    }

    /// Thrown from inside a read when the file changed before a batch was committed.
    private struct ChangedWhileRead: Error {}

    /// Whether the open file is still as `info` saw it (size and modification time).
    private static func unchanged(_ fd: Int32, _ info: stat) -> Bool {
        var now = stat()
        return fstat(fd, &now) == 0 && now.st_size == info.st_size && now.st_mtim.tv_sec == info.st_mtim.tv_sec
            && now.st_mtim.tv_nsec == info.st_mtim.tv_nsec
    }

    /// Opens a regular file for reading without following a link or blocking on a FIFO; nil otherwise, with
    /// `failure` set when a regular file cannot be opened (permissions).
    private func open(_ entry: Entry, failure: inout String?) -> (fd: Int32, info: stat)? {
        guard entry.isRegular else { return nil }
        let fd = Glibc.open(entry.path(in: incoming), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else {
            failure =
                errno == EACCES
                ? "dutyd may not read it (permission denied): the file must be readable by dutyd's user or group"
                : "cannot open it: \(String(cString: strerror(errno)))"
            return nil
        }
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            return nil
        }
        return (fd, info)
    }

    private static func kind(of info: stat) -> String {
        switch info.st_mode & S_IFMT {
        case S_IFLNK: "a symbolic link"
        case S_IFIFO: "a FIFO"
        case S_IFSOCK: "a socket"
        case S_IFCHR, S_IFBLK: "a device"
        case S_IFDIR: "a folder"
        default: "not a regular file"
        }
    }

    private func processEntry(
        _ entry: Entry, store: Store, roster: Roster, decoder: ReferralDecoder, owners: OwnerNames, now: Date,
        log: Logger, report: inout SpoolReport
    ) throws {
        let name = entry.name
        let path = entry.path(in: incoming)
        if entry.isDirectory {
            throw DutyError(.invalidData, "a folder: the spool reads files only")
        }
        let owner = owners.describe(uid: entry.info.st_uid)
        let fileID = "\(name):\(entry.info.st_size):\(entry.info.st_mtim.tv_sec)"
        var batch: [Referral] = []
        var problems: [Problem] = []
        var badRecords = 0
        var fatal: String?

        func commit(final: Bool) throws {
            guard !batch.isEmpty || (final && (badRecords > 0 || fatal != nil)) else { return }
            var logRejections = false
            do {
                if final && (badRecords > 0 || fatal != nil) {
                    logRejections = try !store.rejectionsLogged(fileID: fileID)
                }
                try write(logRejections)
            } catch let error as SpoolReader.Unreadable {
                throw error
            } catch {
                throw StoreFailure(error: error)
            }
            batch.removeAll(keepingCapacity: true)
        }

        func write(_ logRejections: Bool) throws {
            try store.write(at: now) { tx in
                let result = try tx.intake(batch, source: name, owner: owner)
                report.new += result.new.count
                report.updated += result.updated.count
                report.closed += result.closed.count
                report.unchanged += result.unchanged.count
                guard logRejections else { return }
                var listed = problems.map { ($0.location, $0.field, $0.message) }
                if badRecords > problems.count {
                    listed.append((nil, nil, "\(badRecords - problems.count) more bad records not listed"))
                }
                for (location, field, message) in listed {
                    try tx.append(
                        NewEvent(
                            type: "intake.rejected",
                            data: .object([
                                ("file", .string(name)), ("file_id", .string(fileID)),
                                ("index", location?.index.map { .int(Int64($0)) } ?? .null),
                                ("line", location?.line.map { .int(Int64($0)) } ?? .null),
                                ("field", .string(field)), ("message", .string(message)), ("file_owner", owner),
                            ])))
                }
            }
        }

        // Required skills nobody holds: accepted (the case system said so), but such a referral cannot be
        // allocated, so say it once per file and skill.
        let held = Set(roster.workers.flatMap(\.skills))
        var unheld: [String: String] = [:]  // skill -> first referral requiring it

        var changedWhileRead = false
        var seen: [String: RecordLocation] = [:]
        if !entry.validName {
            fatal = "the file name is not valid UTF-8 (a Latin-1 name?): name spool files in UTF-8"
        }
        var openFailure: String?
        if fatal != nil {
            // Refused before reading.
        } else if let format = SpoolReader.Format(fileName: name) {
            if let (fd, info) = open(entry, failure: &openFailure) {
                defer { close(fd) }
                if Int64(info.st_size) > maxFileBytes {
                    fatal = "the file is larger than the \(maxFileBytes >> 20) MiB limit: split it"
                } else {
                    do {
                        var total: Int64 = 0
                        let summary = try SpoolReader(decoder: decoder).read(
                            format: format,
                            next: {
                                var chunk = [UInt8](repeating: 0, count: 1 << 16)
                                let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
                                guard n > 0 else { return nil }
                                total += Int64(n)
                                if total > maxFileBytes {
                                    throw SpoolReader.Unreadable(
                                        message: "the file grew past the \(maxFileBytes >> 20) MiB limit")
                                }
                                return Array(chunk.prefix(n))
                            }
                        ) { location, result in
                            switch result {
                            case .valid(var referral):
                                if referral.team == nil { referral.team = roster.teamForKind[referral.kind] }
                                for skill in referral.skills where !held.contains(skill) && unheld[skill] == nil {
                                    unheld[skill] = referral.id
                                }
                                // A referral named twice in one file: which one the sender meant is unknown.
                                if let first = seen[referral.id] {
                                    badRecords += 1
                                    if problems.count < Self.maxErrors {
                                        problems.append(
                                            Problem(
                                                location: location, field: "id",
                                                message:
                                                    "'\(referral.id)' appears twice in this file (first at \(first))"
                                            ))
                                    }
                                    break
                                }
                                seen[referral.id] = location
                                // Only records followed by more of the file are committed before the end, and
                                // only while the file is as it was when opened.
                                if batch.count >= Self.batchSize {
                                    guard Self.unchanged(fd, info) else { throw ChangedWhileRead() }
                                    try commit(final: false)
                                }
                                batch.append(referral)
                            case .invalid(let errors):
                                badRecords += 1
                                for e in errors where problems.count < Self.maxErrors {
                                    problems.append(
                                        Problem(
                                            location: location, field: e.field.isEmpty ? nil : e.field,
                                            message: e.message))
                                }
                            }
                        }
                        report.skippedRows += summary.skippedRows
                        if summary.skippedRows > 0 {
                            log.info("spool: \(Self.shown(name)): \(summary.skippedRows) empty rows skipped")
                        }
                    } catch let error as SpoolReader.Unreadable {
                        fatal = error.message
                    } catch is ChangedWhileRead {
                        changedWhileRead = true
                    }
                    changedWhileRead = changedWhileRead || !Self.unchanged(fd, info)
                }
            } else if let reason = openFailure {
                fatal = reason
            } else {
                var info = stat()
                let what = lstat(path, &info) == 0 ? Self.kind(of: info) : "gone or unreadable"
                fatal = "\(what): the spool reads only regular files, never through a link"
            }
        } else {
            fatal = "unsupported file type: the spool reads .json, .jsonl and .csv files"
        }
        if changedWhileRead {
            // Still being written: nothing from the end of this read is stored; the next pass reads it again
            // (records committed earlier were complete, and reading them again changes nothing).
            report.deferred += 1
            log.info("spool: \(Self.shown(name)) changed while it was read: it is read again at the next pass")
            return
        }
        if let fatal { problems.insert(Problem(location: nil, field: nil, message: fatal), at: 0) }
        try commit(final: true)
        for (skill, referral) in unheld.sorted(by: { $0.key < $1.key }) {
            var message =
                "spool: \(Self.shown(name)): \(referral) requires skill '\(Self.shown(skill))', which no worker in the roster holds"
            if let guess = closestMatch(skill, in: held.sorted()) { message += " (did you mean '\(guess)'?)" }
            log.warning(message + ": it cannot be allocated until someone has it")
        }

        let accepted = fatal == nil && badRecords == 0
        if accepted {
            try move(path, to: processed, name: name, now: now)
        } else {
            let errors = JSONValue.object([
                ("file", .string(name)), ("rejected_at", .time(now)),
                ("unreadable", fatal.map { .string($0) } ?? .null), ("bad_records", .int(Int64(badRecords))),
                ("file_owner", owner), ("errors", .array(problems.map(\.json))),
            ])
            // The errors file first: if it cannot be written, the file stays in incoming/ (and says so).
            let target = try move(path, to: rejected, name: name, now: now) { target in
                try Data((errors.serialized() + "\n").utf8).write(to: URL(fileURLWithPath: target + ".errors.json"))
            }
            report.rejectedRecords += badRecords
            if fatal != nil { report.rejectedFiles += 1 }
            log.warning(
                fatal.map { "spool: \(Self.shown(name)) rejected whole: \(Self.shown($0))" }
                    ?? "spool: \(Self.shown(name)): \(badRecords) bad record\(badRecords == 1 ? "" : "s") rejected (see \(Self.shown(target)).errors.json)"
            )
        }
    }

    /// The name a file gets in `processed/` or `rejected/`: its own when that is free, has no control characters
    /// and leaves room for `.errors.json`; else the name (cut, control characters as `_`) with the pass's time.
    static func movedName(_ name: String, exists: (String) -> Bool, now: Date) -> String {
        let limit = 255 - ".errors.json".utf8.count
        var safe = String(
            String.UnicodeScalarView(
                name.unicodeScalars.map { ReferralDecoder.hasControlCharacter(String($0)) ? "_" : $0 }))
        if safe == name && name.utf8.count <= limit && !exists(name) { return name }
        let stamp = "." + ISOTime.format(now).filter { $0.isNumber || $0 == "T" } + "Z"
        // A name too long to take the stamp loses the end of its stem, not its extension.
        var ext = ""
        if let dot = safe.lastIndex(of: "."), safe.distance(from: dot, to: safe.endIndex) <= 8, dot != safe.startIndex {
            ext = String(safe[dot...])
            safe = String(safe[..<dot])
        }
        while safe.utf8.count + ext.utf8.count + stamp.utf8.count + 4 > limit { safe.removeLast() }
        safe += ext
        var candidate = safe + stamp
        var n = 1
        while exists(candidate) && n < 1_000 {
            n += 1
            candidate = safe + stamp + "-\(n)"
        }
        return candidate
    }

    /// Moves a file into `folder` under `movedName`, after `before` (given the new path) has done its part.
    /// Returns the new path.
    @discardableResult
    private func move(
        _ path: [CChar], to folder: String, name: String, now: Date, before: (String) throws -> Void = { _ in }
    ) throws -> String {
        let target =
            folder + "/"
            + Self.movedName(
                name,
                exists: {
                    FileManager.default.fileExists(atPath: folder + "/" + $0)
                        || FileManager.default.fileExists(atPath: folder + "/" + $0 + ".errors.json")
                }, now: now)
        try before(target)
        guard rename(path, target) == 0 else {
            throw DutyError(.failure, "cannot move it to \(folder): \(String(cString: strerror(errno)))")
        }
        return target
    }
}

/// Who owns a spool file, for the intake events: the uid, the user name when the system knows it, and the roster
/// worker whose `unix_user` it is.
struct OwnerNames {
    let workers: [String: String]

    init(roster: Roster) {
        workers = Dictionary(
            roster.workers.compactMap { w in w.unixUser.map { ($0, w.id) } }, uniquingKeysWith: { a, _ in a })
    }

    func describe(uid: uid_t) -> JSONValue {
        var pwd = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 4096)
        var user: String?
        if getpwuid_r(uid, &pwd, &buffer, buffer.count, &result) == 0, result != nil {
            user = String(cString: pwd.pw_name)
        }
        return .object([
            ("uid", .int(Int64(uid))), ("user", .string(user)), ("worker", .string(user.flatMap { workers[$0] })),
        ])
    }
}
