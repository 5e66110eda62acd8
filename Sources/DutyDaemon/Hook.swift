import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Runs `notify_command` once for one message, as a separate process that cannot hurt the daemon:
/// - its own process group, a clean signal mask and default signal actions (a hook started from a daemon whose
///   signals are blocked for Dispatch would otherwise ignore SIGTERM);
/// - an environment without systemd's `NOTIFY_SOCKET`, `WATCHDOG_*` and `LISTEN_*` (a hook must not speak for
///   dutyd to systemd);
/// - the message on stdin, written without blocking: a hook that exits or closes stdin early is a failed delivery,
///   never a crash (SIGPIPE is ignored and `EPIPE` is an ordinary error);
/// - past `timeout` the whole group is sent SIGTERM, then SIGKILL a second later;
/// - at most `stderrCap` bytes of its standard error are kept for the log (the rest is read and dropped).
struct Hook {
    var argv: [String]
    var timeout: TimeInterval = 30
    var stderrCap = 2_048

    /// How a run ended: `nil` error is a delivery.
    struct Outcome {
        var error: String?
        var stderr: String
    }

    /// A pipe whose ends close on exec (the child gets only the ends dup'ed onto its stdin and stderr).
    private static func pipe(_ fds: inout [Int32]) -> Bool {
        guard Glibc.pipe(&fds) == 0 else { return false }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        return true
    }

    /// The daemon's environment without what belongs to dutyd alone.
    static func environment(_ env: [String: String]) -> [String] {
        let dropped: Set<String> = [
            "NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES",
        ]
        return env.filter { !dropped.contains($0.key) }.map { "\($0.key)=\($0.value)" }.sorted()
    }

    /// Runs the hook with `input` on stdin and waits for it (at most `timeout` and a second).
    func run(input: [UInt8], environment env: [String: String]) -> Outcome {
        guard let program = argv.first else { return Outcome(error: "notify_command is empty", stderr: "") }
        var stdinPipe: [Int32] = [-1, -1]
        var stderrPipe: [Int32] = [-1, -1]
        guard Self.pipe(&stdinPipe) else { return Outcome(error: "cannot make a pipe", stderr: "") }
        guard Self.pipe(&stderrPipe) else {
            close(stdinPipe[0])
            close(stdinPipe[1])
            return Outcome(error: "cannot make a pipe", stderr: "")
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, stdinPipe[0], 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, stderrPipe[1], 2)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        var all = sigset_t()
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(
            &attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP))
        let cArgs = argv.map { strdup($0) } + [nil]
        let cEnv = Self.environment(env).map { strdup($0) } + [nil]
        defer {
            cArgs.forEach { free($0) }
            cEnv.forEach { free($0) }
        }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, program, &actions, &attributes, cArgs, cEnv)
        close(stdinPipe[0])
        close(stderrPipe[1])
        guard rc == 0 else {
            close(stdinPipe[1])
            close(stderrPipe[0])
            return Outcome(error: "cannot run \(program): \(String(cString: strerror(rc)))", stderr: "")
        }
        let deadline = Date().addingTimeInterval(timeout)
        _ = fcntl(stdinPipe[1], F_SETFL, fcntl(stdinPipe[1], F_GETFL) | O_NONBLOCK)
        _ = fcntl(stderrPipe[0], F_SETFL, fcntl(stderrPipe[0], F_GETFL) | O_NONBLOCK)
        var written = 0
        var writeError: String?
        var stdinOpen = true
        var stderrOpen = true
        var captured: [UInt8] = []
        var status: Int32 = 0
        var exited = false
        var timedOut = false
        // One loop: feed stdin, drain stderr, watch the clock and the child.
        while true {
            if stdinOpen && written >= input.count {
                close(stdinPipe[1])
                stdinOpen = false
            }
            var fds: [pollfd] = []
            if stdinOpen { fds.append(pollfd(fd: stdinPipe[1], events: Int16(POLLOUT), revents: 0)) }
            if stderrOpen { fds.append(pollfd(fd: stderrPipe[0], events: Int16(POLLIN), revents: 0)) }
            if !exited {
                let r = waitpid(pid, &status, WNOHANG)
                if r == pid { exited = true }
            }
            if exited && !stderrOpen { break }
            if exited && fds.isEmpty { break }
            if Date() >= deadline && !exited {
                timedOut = true
                kill(-pid, SIGTERM)
                let grace = Date().addingTimeInterval(1)
                while waitpid(pid, &status, WNOHANG) == 0 && Date() < grace { usleep(20_000) }
                kill(-pid, SIGKILL)
                _ = waitpid(pid, &status, 0)
                exited = true
                break
            }
            _ = poll(&fds, nfds_t(fds.count), 50)
            for f in fds where f.revents != 0 {
                if f.fd == stdinPipe[1] && stdinOpen {
                    let n = input[written...].withUnsafeBytes { Glibc.write(f.fd, $0.baseAddress, $0.count) }
                    if n > 0 {
                        written += n
                    } else if n < 0 && errno != EAGAIN && errno != EINTR {
                        writeError = errno == EPIPE ? "it did not read its input" : String(cString: strerror(errno))
                        close(stdinPipe[1])
                        stdinOpen = false
                    } else if f.revents & Int16(POLLERR | POLLHUP) != 0 {
                        writeError = "it did not read its input"
                        close(stdinPipe[1])
                        stdinOpen = false
                    }
                } else if f.fd == stderrPipe[0] {
                    var buffer = [UInt8](repeating: 0, count: 4_096)
                    let n = buffer.withUnsafeMutableBytes { Glibc.read(f.fd, $0.baseAddress, $0.count) }
                    if n > 0 {
                        if captured.count < stderrCap { captured += buffer.prefix(min(n, stderrCap - captured.count)) }
                    } else if n == 0 || (errno != EAGAIN && errno != EINTR) {
                        close(stderrPipe[0])
                        stderrOpen = false
                    }
                }
            }
            if exited && stdinOpen {
                close(stdinPipe[1])
                stdinOpen = false
                if written < input.count { writeError = writeError ?? "it did not read its input" }
            }
        }
        if stdinOpen { close(stdinPipe[1]) }
        if stderrOpen { close(stderrPipe[0]) }
        // Anything still running in its group (a hook's own children) goes with it.
        kill(-pid, SIGKILL)
        let text = String(decoding: captured, as: UTF8.self)
        if timedOut { return Outcome(error: "it took over \(Int(timeout))s and was stopped", stderr: text) }
        let exitCode = (status & 0x7f) == 0 ? (status >> 8) & 0xff : -1
        if (status & 0x7f) != 0 { return Outcome(error: "it was killed by signal \(status & 0x7f)", stderr: text) }
        if exitCode != 0 { return Outcome(error: "it exited \(exitCode)", stderr: text) }
        if let writeError { return Outcome(error: writeError, stderr: text) }
        return Outcome(error: nil, stderr: text)
    }
}
