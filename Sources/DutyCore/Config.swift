import Foundation

/// `dutyd.conf`: where state, spool, policies and roster live, and how the daemon runs (SPEC "Configuration").
public struct DutyConfig: Sendable {
    public static let defaultPath = "/etc/duty/dutyd.conf"

    /// The file it was read from.
    public var path: String
    public var stateDir: String
    public var spoolDir: String
    public var policiesDir: String
    public var rosterPath: String
    public var socketPath: String
    public var socketGroup: String?
    /// The group that may write the spool's `incoming/` (`spool_group`); nil leaves its permissions alone.
    public var spoolGroup: String?
    /// How long a spool file must stay unchanged before it is read (`spool_settle`, default 1s).
    public var spoolSettle: Duration = Duration(1, .seconds)
    /// The largest spool file read, in MiB (`spool_max_file_mib`, default 256); a larger one is rejected whole.
    public var spoolMaxFileMiB = 256
    public var cycle: Duration
    public var timeZone: TimeZone
    /// Program and arguments run for each message (one per recipient per cycle); nil when not set.
    public var notifyCommand: [String]?
    /// How long one run of `notify_command` may take before its process group is killed (`notify_timeout`).
    public var notifyTimeout = Duration(30, .seconds)
    /// The wait before the first retry of a failed message (`notify_retry`); it doubles, up to an hour.
    public var notifyRetry = Duration(60, .seconds)
    /// How long a new message waits so that later ones for the same person go with it (`notify_group_wait`,
    /// Alertmanager's group wait); 0 sends at once.
    public var notifyGroupWait = Duration(0, .seconds)
    /// Referrals pulled over HTTPS from the case system (`source`), beside the spool.
    public var source: SourceConfig?
    /// Decisions written back for the case system (`write_back`).
    public var writeBack: WriteBackConfig?

    public var databasePath: String { stateDir + "/duty.db" }

    /// `--config PATH`, else `$DUTY_CONFIG`, else `/etc/duty/dutyd.conf`.
    public static func locate(explicit: String?, environment: [String: String]) -> String {
        if let explicit { return explicit }
        if let env = environment["DUTY_CONFIG"], !env.isEmpty { return env }
        return defaultPath
    }

    public static func load(path: String) throws(DutyError) -> DutyConfig {
        let text = try SourceFile.read(path, what: "config file")
        let (config, diagnostics) = parse(text, file: path)
        guard let config, !diagnostics.hasErrors else { throw DutyError.invalid(diagnostics, what: "config \(path)") }
        return config
    }

    public static func parse(_ text: String, file: String) -> (DutyConfig?, [Diagnostic]) {
        let sink = DiagnosticSink(file: file)
        guard let root = NodeDecoding.parse(text, sink: sink),
            let o = ObjectFields(root, what: "the config", sink: sink)
        else { return (nil, sink.diagnostics) }
        let base = SourceFile.directory(of: file)
        func path(_ key: String, required: Bool) -> String? {
            guard let p = o.string(key, required: required) else { return nil }
            if p.isEmpty {
                sink.error(o.node(key)!.position, "'\(key)' must not be empty")
                return nil
            }
            return SourceFile.resolve(p, against: base)
        }
        let state = path("state_dir", required: true)
        let spool = path("spool_dir", required: true)
        let policies = path("policies", required: true)
        let roster = path("roster", required: true)
        let socket = path("socket", required: false)
        let group = o.string("socket_group")
        let spoolGroup = o.string("spool_group")
        let settle = o.duration("spool_settle") ?? Duration(1, .seconds)
        if settle.seconds > 600 { sink.error(o.node("spool_settle")!.position, "'spool_settle' must be at most 10m") }
        let maxFile = o.integer("spool_max_file_mib", in: 1...4_096) ?? 256
        let notifyTimeout = o.duration("notify_timeout") ?? Duration(30, .seconds)
        if notifyTimeout.seconds < 1 || notifyTimeout.seconds > 3_600 {
            sink.error(o.node("notify_timeout")!.position, "'notify_timeout' must be from 1s to 1h")
        }
        let groupWait = o.duration("notify_group_wait") ?? Duration(0, .seconds)
        if groupWait.seconds < 0 || groupWait.seconds > 86_400 {
            sink.error(o.node("notify_group_wait")!.position, "'notify_group_wait' must be from 0s to 1d")
        }
        let notifyRetry = o.duration("notify_retry") ?? Duration(60, .seconds)
        if notifyRetry.seconds < 1 || notifyRetry.seconds > 3_600 {
            sink.error(o.node("notify_retry")!.position, "'notify_retry' must be from 1s to 1h")
        }
        let cycle = o.duration("cycle") ?? Duration(60, .seconds)
        if cycle.seconds < 1 { sink.error(o.node("cycle")!.position, "'cycle' must be at least 1s") }
        var zone = TimeZone(identifier: "Europe/London")!
        if let name = o.string("timezone") {
            if let z = TimeZone(identifier: name) {
                zone = z
            } else {
                sink.error(
                    o.node("timezone")!.position, "unknown time zone '\(name)': use an IANA name like \"Europe/London\""
                )
            }
        }
        var notify: [String]?
        if let n = o.node("notify_command") {
            switch n.value {
            case .string(let s) where !s.isEmpty: notify = [SourceFile.resolve(s, against: base)]
            case .array:
                if let list = NodeDecoding.strings(n, sink: sink, what: "'notify_command'"), let first = list.first {
                    notify = [SourceFile.resolve(first, against: base)] + list.dropFirst()
                } else {
                    sink.error(n.position, "'notify_command' must name a program")
                }
            case .null: break
            default: sink.error(n.position, "'notify_command' must be a program path or a list [program, args...]")
            }
        }
        let (source, writeBack) = parseCaseSystem(o, base: base, sink: sink)
        o.finish()
        guard let state, let spool, let policies, let roster else { return (nil, sink.diagnostics) }
        var config = DutyConfig(
            path: file, stateDir: state, spoolDir: spool, policiesDir: policies, rosterPath: roster,
            socketPath: socket ?? state + "/dutyd.sock", socketGroup: group, cycle: cycle, timeZone: zone,
            notifyCommand: notify)
        config.spoolGroup = spoolGroup
        config.spoolSettle = settle
        config.spoolMaxFileMiB = maxFile
        config.notifyTimeout = notifyTimeout
        config.notifyRetry = notifyRetry
        config.notifyGroupWait = groupWait
        config.source = source
        config.writeBack = writeBack
        return (config, sink.diagnostics)
    }
}

/// duty's version, printed by `--version` and recorded in `daemon.started`.
public enum DutyVersion {
    public static let string = "0.1.0"
}
