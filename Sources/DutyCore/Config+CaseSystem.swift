import Foundation

/// `source`: where dutyd pulls referrals from over HTTPS, beside the spool (README "Connecting a case system").
public struct SourceConfig: Sendable, Equatable {
    /// The endpoint; dutyd adds `since=CURSOR` (after the first page) and `limit=N` to its query.
    public var url: String
    /// How often it is asked for new referrals (`every`, default 1m).
    public var every = Duration(60, .seconds)
    /// A file holding the bearer token (`token_file`; `$CREDENTIALS_DIRECTORY/NAME` for systemd's
    /// `LoadCredential=`), read at each request and never logged.
    public var tokenFile: String?
    /// CA certificates (PEM) to trust for the endpoint (`ca_file`), for a case system with its own CA.
    public var caFile: String?
    /// The most one request may take, connection to last byte (`timeout`, default 30s).
    public var timeout = Duration(30, .seconds)
    /// Referrals asked for per page (`page_size`, default 500).
    public var pageSize = 500
}

/// `write_back`: where dutyd sends its decisions for the case system: JSONL files in `dir`, and/or POSTs to `url`.
public struct WriteBackConfig: Sendable, Equatable {
    public var dir: String?
    public var url: String?
    public var tokenFile: String?
    public var timeout = Duration(30, .seconds)
}

extension DutyConfig {
    /// A URL duty may call: HTTPS, or HTTP to this machine only (a case system's test stub, the demo).
    static func checkURL(_ text: String) -> String? {
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), let host = url.host, !host.isEmpty
        else { return "'\(text)' is not a URL" }
        if scheme == "https" { return nil }
        if scheme == "http" && ["127.0.0.1", "localhost", "::1", "[::1]"].contains(host.lowercased()) { return nil }
        return
            "'\(text)' must be https (http only to this machine: 127.0.0.1 or localhost), so the token and referrals cross the network encrypted"
    }

    /// Reads the `source` and `write_back` sections.
    static func parseCaseSystem(_ o: ObjectFields, base: String, sink: DiagnosticSink) -> (
        SourceConfig?, WriteBackConfig?
    ) {
        func file(_ f: ObjectFields, _ key: String) -> String? {
            guard let p = f.string(key) else { return nil }
            return p.hasPrefix("$CREDENTIALS_DIRECTORY/") ? p : SourceFile.resolve(p, against: base)
        }
        func timeout(_ f: ObjectFields) -> Duration {
            let t = f.duration("timeout") ?? Duration(30, .seconds)
            if t.seconds < 1 || t.seconds > 600 {
                sink.error(f.node("timeout")!.position, "'timeout' must be from 1s to 10m")
            }
            return t
        }
        var source: SourceConfig?
        if let n = o.node("source"), let f = ObjectFields(n, what: "'source'", sink: sink) {
            if let url = f.string("url", required: true) {
                if let problem = checkURL(url) { sink.error(f.node("url")!.position, problem) }
                var s = SourceConfig(url: url)
                s.every = f.duration("every") ?? s.every
                if s.every.seconds < 1 { sink.error(f.node("every")!.position, "'every' must be at least 1s") }
                s.tokenFile = file(f, "token_file")
                s.caFile = file(f, "ca_file")
                s.timeout = timeout(f)
                s.pageSize = f.integer("page_size", in: 1...10_000) ?? s.pageSize
                source = s
            }
            f.finish()
        }
        var writeBack: WriteBackConfig?
        if let n = o.node("write_back"), let f = ObjectFields(n, what: "'write_back'", sink: sink) {
            var w = WriteBackConfig()
            if let dir = f.string("dir") { w.dir = SourceFile.resolve(dir, against: base) }
            if let url = f.string("url") {
                if let problem = checkURL(url) { sink.error(f.node("url")!.position, problem) }
                w.url = url
            }
            w.tokenFile = file(f, "token_file")
            w.timeout = timeout(f)
            if w.dir == nil && w.url == nil { sink.error(n.position, "'write_back' needs 'dir', 'url' or both") }
            writeBack = w
            f.finish()
        }
        return (source, writeBack)
    }

    /// The token in `path` (`$CREDENTIALS_DIRECTORY/` expanded from the environment), trimmed; an error that
    /// names the file, never its content.
    public static func readToken(_ path: String, environment: [String: String]) throws(DutyError) -> String {
        var p = path
        if p.hasPrefix("$CREDENTIALS_DIRECTORY/") {
            guard let dir = environment["CREDENTIALS_DIRECTORY"] else {
                throw DutyError(
                    .failure,
                    "token_file '\(path)' needs CREDENTIALS_DIRECTORY (systemd's LoadCredential=): it is not set")
            }
            p = dir + "/" + p.dropFirst("$CREDENTIALS_DIRECTORY/".count)
        }
        guard let data = FileManager.default.contents(atPath: p) else {
            throw DutyError(.failure, "cannot read the token file '\(p)'")
        }
        let token = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !token.isEmpty, !token.contains(where: { $0.isNewline || $0 == "\0" }) else {
            throw DutyError(.failure, "the token file '\(p)' is empty or holds more than one line")
        }
        return token
    }
}
