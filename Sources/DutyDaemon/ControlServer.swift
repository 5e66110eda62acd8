import CShims
import DutyControl
import DutyCore
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The control socket: accepts connections on its own queue, reads one request per connection (at most
/// `ControlProtocol.maxMessage` bytes, within 5 seconds), identifies the caller from SO_PEERCRED, and runs the
/// request on the daemon's cycle queue. A slow or malformed client costs its own connection only: at most
/// `maxClients` connections are open, and a new one beyond that evicts the longest-waiting connection that has
/// not yet sent a complete request, so a flood of idle connections cannot lock out a manager's request.
final class ControlServer: @unchecked Sendable {
    // Client bookkeeping lives on `queue`.
    let daemon: Daemon
    let queue = DispatchQueue(label: "dutyd.control")
    private var listener: DispatchSourceRead?
    private var clients: [Int32: Client] = [:]
    private var accepted: UInt64 = 0
    private let listenFD: Int32
    static let maxClients = 256

    /// A connection; touched only on the server's queue.
    final class Client: @unchecked Sendable {
        let fd: Int32
        var order: UInt64 = 0
        var buffer: [UInt8] = []
        var source: DispatchSourceRead?
        var timeout: DispatchWorkItem?
        var suspended = false
        init(fd: Int32) { self.fd = fd }
    }

    /// Listens on `fd` (from systemd socket activation) or creates the socket at the config's path, mode 0660,
    /// group `socket_group`.
    init(daemon: Daemon, activatedFD: Int32?) throws(DutyError) {
        self.daemon = daemon
        if let fd = activatedFD {
            listenFD = fd
        } else {
            listenFD = try Self.listen(path: daemon.config.socketPath, group: daemon.config.socketGroup)
        }
        _ = fcntl(listenFD, F_SETFL, fcntl(listenFD, F_GETFL) | O_NONBLOCK)
    }

    static func listen(path: String, group: String?) throws(DutyError) -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw DutyError(.failure, "cannot create the control socket") }
        guard var address = UnixAddress(path) else {
            close(fd)
            throw DutyError(.invalidData, "the socket path \(path) is too long")
        }
        // A stale socket from a previous run is replaced; anything else at that path is an error.
        var st = stat()
        if lstat(path, &st) == 0 {
            guard st.st_mode & S_IFMT == S_IFSOCK else {
                close(fd)
                throw DutyError(.failure, "\(path) exists and is not a socket: set 'socket' to another path")
            }
            unlink(path)
        }
        let old = umask(0o117)
        let rc = address.withSockaddr { bind(fd, $0, $1) }
        umask(old)
        guard rc == 0, Glibc.listen(fd, 64) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw DutyError(.failure, "cannot listen on the control socket \(path): \(reason)")
        }
        chmod(path, 0o660)
        if let group {
            guard let gr = getgrnam(group) else {
                throw DutyError(.invalidData, "socket_group '\(group)' does not exist")
            }
            if chown(path, getuid(), gr.pointee.gr_gid) != 0 {
                logWarning(
                    "cannot give the control socket to group \(group): \(String(cString: strerror(errno)))")
            }
        }
        return fd
    }

    func start() {
        let source = DispatchSource.makeReadSource(fileDescriptor: listenFD, queue: queue)
        source.setEventHandler { [weak self] in self?.acceptAll() }
        source.resume()
        listener = source
    }

    private func acceptAll() {
        while true {
            let fd = accept(listenFD, nil, nil)
            guard fd >= 0 else { return }
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            if clients.count >= Self.maxClients && !evictOldestIdle() {
                close(fd)
                continue
            }
            let client = Client(fd: fd)
            accepted += 1
            client.order = accepted
            clients[fd] = client
            let source = DispatchSource.makeReadSource(fileDescriptor: fd, queue: queue)
            source.setEventHandler { [weak self] in self?.readable(client) }
            source.setCancelHandler { close(fd) }
            client.source = source
            let timeout = DispatchWorkItem { [weak self] in
                self?.reply(client, .failure(DutyError(.usage, "no complete request within 5 seconds")))
            }
            client.timeout = timeout
            queue.asyncAfter(deadline: .now() + 5, execute: timeout)
            source.resume()
        }
    }

    /// Makes room for a new connection by answering and closing the oldest one still reading its request. A
    /// request being run is never cut off (its caller would not learn that it was done); returns false when every
    /// slot is running one, and the new connection is then refused.
    private func evictOldestIdle() -> Bool {
        let idle = clients.values.filter { !$0.suspended }
        guard let victim = idle.min(by: { $0.order < $1.order }) else { return false }
        reply(victim, .failure(DutyError(.unavailable, "too many connections to dutyd; try again")))
        return true
    }

    private func readable(_ client: Client) {
        var chunk = [UInt8](repeating: 0, count: 8_192)
        let n = read(client.fd, &chunk, chunk.count)
        if n <= 0 {
            if n == 0 || (errno != EAGAIN && errno != EINTR) { finish(client) }
            return
        }
        client.buffer.append(contentsOf: chunk[0..<n])
        if let nl = client.buffer.firstIndex(of: 0x0A) {
            client.source?.suspend()
            client.suspended = true
            process(client, line: Array(client.buffer[..<nl]))
        } else if client.buffer.count > ControlProtocol.maxMessage {
            reply(client, .failure(DutyError(.usage, "request larger than \(ControlProtocol.maxMessage) bytes")))
        }
    }

    private func process(_ client: Client, line: [UInt8]) {
        client.timeout?.cancel()
        var pid: pid_t = 0
        var uid: uid_t = 0
        var gid: gid_t = 0
        guard duty_peer_credentials(client.fd, &pid, &uid, &gid) == 0 else {
            reply(client, .failure(DutyError(.permissionDenied, "cannot identify the caller")))
            return
        }
        let request: ControlRequest
        do {
            request = try ControlRequest.decode(line)
        } catch {
            reply(client, .failure(error))
            return
        }
        let daemon = self.daemon
        let peer = uid
        daemon.queue.async { [self] in
            let caller = daemon.caller(uid: peer)
            let response = daemon.handle(request, from: caller)
            queue.async { self.reply(client, response) }
        }
    }

    private func reply(_ client: Client, _ response: ControlResponse) {
        dispatchPrecondition(condition: .onQueue(queue))
        guard clients[client.fd] === client else { return }  // answered already; the fd may be reused
        let bytes = Array((response.json.serialized() + "\n").utf8)
        var sent = 0
        var attempts = 0
        while sent < bytes.count && attempts < 100 {
            let n = bytes[sent...].withUnsafeBytes { send(client.fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n > 0 {
                sent += n
            } else if errno == EAGAIN {
                attempts += 1
                usleep(1_000)
            } else {
                break
            }
        }
        finish(client)
    }

    private func finish(_ client: Client) {
        client.timeout?.cancel()
        guard clients[client.fd] === client else { return }
        clients[client.fd] = nil
        if let source = client.source {
            source.cancel()
            if client.suspended { source.resume() }  // a suspended source must be resumed to be cancelled
        } else {
            close(client.fd)
        }
    }
}

private func logWarning(_ message: String) {
    FileHandle.standardError.write(Data("dutyd: warning: \(message)\n".utf8))
}
