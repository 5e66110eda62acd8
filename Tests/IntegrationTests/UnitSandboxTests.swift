import DutyCore
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The shipped unit's identity settings, reproduced with `unshare`: a manager's write command over the control
/// socket is accepted and a stranger's refused. `PrivateUsers=yes` (a user namespace in which every caller but
/// root and the service's user is "nobody" through SO_PEERCRED) made every manager a stranger; if the unit asks
/// for it again, this test fails.
@Suite(.serialized) struct UnitSandboxTests {
    /// `unshare` options for the identity- and path-affecting settings of `systemd/dutyd.service`.
    static func namespaceOptions(unit: String) -> [String] {
        let settings = unit.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        var options = ["--mount"]  // ProtectSystem=, PrivateTmp= and the like give the service a mount namespace
        if settings.contains("PrivateUsers=yes") || settings.contains("PrivateUsers=true") {
            options += ["--user", "--map-root-user"]
        }
        return options
    }

    @Test func aManagerIsAcceptedAndAStrangerRefusedInsideTheUnitsNamespaces() throws {
        let tools = ["/usr/bin/unshare", "/usr/bin/setpriv"]
        guard getuid() == 0, tools.allSatisfy(FileManager.default.isExecutableFile(atPath:)),
            getpwnam("daemon") != nil, getpwnam("bin") != nil
        else {
            print("skipped: needs root, unshare, setpriv and the users daemon and bin")
            return
        }
        let unit = try String(contentsOfFile: repositoryRoot + "/systemd/dutyd.service", encoding: .utf8)
        let d = try Deployment()
        chmod(d.dir, 0o755)
        // The safeguarding team manager logs in as `daemon`; `bin` is in no roster.
        let roster = try String(contentsOfFile: repositoryRoot + "/systemd/roster.json5", encoding: .utf8)
            .replacingOccurrences(of: #"unix_user: "mhale""#, with: #"unix_user: "daemon""#)
        try roster.write(toFile: d.dir + "/roster.json5", atomically: true, encoding: .utf8)
        try """
        { state_dir: "state", spool_dir: "spool", policies: "policies", roster: "roster.json5",
          socket: "\(d.dir)/dutyd.sock", socket_group: "daemon", cycle: "1h" }
        """.write(toFile: d.config, atomically: true, encoding: .utf8)
        for f in [d.config, d.dir + "/roster.json5"] { chmod(f, 0o644) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/unshare")
        p.arguments = Self.namespaceOptions(unit: unit) + [binDir + "/dutyd", "--config", d.config]
        p.standardError = FileHandle.nullDevice
        try p.run()
        defer {
            p.terminate()
            p.waitUntilExit()
        }
        let deadline = Date().addingTimeInterval(15)
        while !FileManager.default.fileExists(atPath: d.dir + "/dutyd.sock") && Date() < deadline { usleep(50_000) }
        func cycle(as user: String) throws -> Result {
            try run(
                "/usr/bin/setpriv",
                [
                    "--reuid=\(user)", "--regid=\(user)", "--groups=daemon", binDir + "/duty", "--config", d.config,
                    "cycle",
                ],
                absolute: true)
        }
        let manager = try cycle(as: "daemon")
        #expect(manager.code == 0, "the team manager is accepted: \(manager.err)")
        let stranger = try cycle(as: "bin")
        #expect(stranger.code == 77 && stranger.err.contains("only managers"), "\(stranger.err)")
    }

    @Test func theTestWouldNoticePrivateUsers() {
        #expect(Self.namespaceOptions(unit: "[Service]\nPrivateUsers=yes\n").contains("--user"))
        #expect(!Self.namespaceOptions(unit: "[Service]\n# PrivateUsers=yes\n").contains("--user"))
    }
}
