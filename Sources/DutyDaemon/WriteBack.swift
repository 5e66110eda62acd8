import DutyCore
import DutyStore
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Where decisions go for the case system (config `write_back`): each outbox message of a channel is the
/// decision events of one write, as `duty log --format json` lines (`seq`, `at`, `type`, `referral`, `actor`,
/// `data`, `hash`), so the receiver can deduplicate by `seq` and check each `hash`.
protocol WriteBackSink: Sendable {
    /// Delivers the lines of seqs `from...to`; nil when done, else why not.
    func deliver(_ lines: [String], from: Int64, to: Int64) -> String?
}

/// `write_back.dir`: one file per write that decided something, `duty-<from>-<to>.jsonl` (seqs zero-padded, so
/// names sort in log order), written as a dot-file, synced and renamed, as the spool expects of its writers.
struct FileSink: WriteBackSink {
    let dir: String

    func deliver(_ lines: [String], from: Int64, to: Int64) -> String? {
        if !FileManager.default.fileExists(atPath: dir) {
            do {
                try FileManager.default.createDirectory(
                    atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o750])
            } catch {
                return "cannot create \(dir): \(error.localizedDescription)"
            }
        }
        let name = String(format: "duty-%012lld-%012lld.jsonl", from, to)
        let temporary = dir + "/." + name + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0o640)
        guard fd >= 0 else { return "cannot write \(temporary): \(String(cString: strerror(errno)))" }
        let bytes = Array((lines.joined(separator: "\n") + "\n").utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                let reason = String(cString: strerror(errno))
                close(fd)
                unlink(temporary)
                return "cannot write \(temporary): \(reason)"
            }
            offset += n
        }
        guard fsync(fd) == 0 else {
            close(fd)
            return "cannot sync \(temporary): \(String(cString: strerror(errno)))"
        }
        close(fd)
        guard rename(temporary, dir + "/" + name) == 0 else {
            return "cannot rename \(temporary): \(String(cString: strerror(errno)))"
        }
        let dirFD = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dirFD >= 0 {
            fsync(dirFD)
            close(dirFD)
        }
        return nil
    }
}

/// `write_back.url`: one POST per write that decided something, `Content-Type: application/x-ndjson`, the
/// token from `token_file` as a bearer token; any 2xx is done, anything else is retried.
struct HTTPSink: WriteBackSink {
    let url: String
    let tokenFile: String?
    let timeout: Double
    let environment: [String: String]

    func deliver(_ lines: [String], from: Int64, to: Int64) -> String? {
        guard let target = URL(string: url) else { return "'\(url)' is not a URL" }
        do {
            let token = try tokenFile.map { path throws(DutyError) in
                try DutyConfig.readToken(path, environment: environment)
            }
            let r = try HTTP.request(
                target, method: "POST", body: Data((lines.joined(separator: "\n") + "\n").utf8),
                contentType: "application/x-ndjson", token: token, timeout: timeout)
            return (200..<300).contains(r.status) ? nil : "\(HTTP.shown(target)): \(HTTP.describe(r))"
        } catch {
            return error.message
        }
    }
}
