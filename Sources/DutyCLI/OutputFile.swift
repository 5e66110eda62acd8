import DutyCore
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Files the CLI writes (`duty report --output`, `duty simulate --svg/--report`): a regular file (or a new one)
/// is written beside itself and renamed over, so a reader never sees half a page and a failed write leaves the old
/// file; anything else that exists (`/dev/null`, `/dev/stdout`, a FIFO) is written in place, never replaced by a
/// regular file. Every write's error is reported (`/dev/full`: "No space left on device").
enum OutputFile {
    static func write(_ text: String, to path: String) throws(DutyError) {
        func failure(_ what: String) -> DutyError {
            DutyError(.failure, "cannot write \(path): \(String(cString: strerror(errno)))", cause: what)
        }
        var info = stat()
        if stat(path, &info) == 0 && (info.st_mode & S_IFMT) != S_IFREG {
            guard (info.st_mode & S_IFMT) != S_IFDIR else {
                throw DutyError(.failure, "cannot write \(path): it is a directory")
            }
            let fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC)
            guard fd >= 0 else { throw failure("open") }
            defer { close(fd) }
            guard writeAll(fd, text) else { throw failure("write") }
            return
        }
        let url = URL(fileURLWithPath: path)
        var template = Array(
            url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).XXXXXX").path.utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw failure("create") }
        let temporary = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard writeAll(fd, text), fchmod(fd, 0o644) == 0, fsync(fd) == 0 else {
            let error = failure("write")
            close(fd)
            unlink(temporary)
            throw error
        }
        close(fd)
        guard rename(temporary, path) == 0 else {
            let error = failure("rename")
            unlink(temporary)
            throw error
        }
    }

    /// Writes all of `text` to `fd`, through partial writes and interruptions; false on an error (errno set).
    private static func writeAll(_ fd: Int32, _ text: String) -> Bool {
        var text = text
        return text.withUTF8 { bytes in
            var done = 0
            while done < bytes.count {
                let n = Glibc.write(fd, bytes.baseAddress! + done, bytes.count - done)
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { return false }
                done += n
            }
            return true
        }
    }
}
