import DutyCore
import DutyStore
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A reference stub of a case system's integration endpoint (python3's standard library, loopback only): pages
/// of referrals with a cursor, decisions received, and on request 500s, a hang or garbage.
final class CaseSystemStub {
    let dir: String
    let process = Process()
    let port: Int
    let token = "s3cret-token-\(UUID().uuidString.prefix(8))"

    static var available: Bool { FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") }

    init() throws {
        dir = try tempDir()
        try Self.script.write(toFile: dir + "/stub.py", atomically: true, encoding: .utf8)
        try "[]".write(toFile: dir + "/referrals.json", atomically: true, encoding: .utf8)
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [dir + "/stub.py", dir, token]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        var line = Data()
        while !line.contains(0x0A) {
            let chunk = out.fileHandleForReading.availableData
            guard !chunk.isEmpty else { break }
            line.append(chunk)
        }
        guard let p = Int(String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw POSIXError(.EIO)
        }
        port = p
    }

    /// Stops the stub (SIGKILL: python's server may not stop on SIGTERM while a handler sleeps in `hang`).
    func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    deinit { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }

    var url: String { "http://127.0.0.1:\(port)/referrals" }
    var decisionsURL: String { "http://127.0.0.1:\(port)/decisions" }

    func serve(_ referrals: [String]) throws {
        try ("[" + referrals.joined(separator: ",") + "]").write(
            toFile: dir + "/referrals.json", atomically: true, encoding: .utf8)
    }

    /// `ok`, `slow` (a quarter second a request), `500`, `hang` or `garbage`.
    func set(mode: String) throws { try mode.write(toFile: dir + "/mode", atomically: true, encoding: .utf8) }

    func requests() -> [String] {
        ((try? String(contentsOfFile: dir + "/requests.log", encoding: .utf8)) ?? "").split(separator: "\n").map(
            String.init)
    }

    /// Every decision line received, in order of arrival.
    func decisions() -> [JSONValue] {
        ((try? String(contentsOfFile: dir + "/decisions.jsonl", encoding: .utf8)) ?? "").split(separator: "\n")
            .compactMap { JSONValue.parse(String($0)) }
    }

    static let script = #"""
        import http.server, json, sys, threading, time, os

        # A case system's integration endpoint, for duty's tests: pages of referrals with a cursor, decisions received.
        # Usage: stub.py STATE_DIR TOKEN; prints the port. Files in STATE_DIR: referrals.json (the list it serves),
        # mode (ok, 500, hang, garbage), decisions.jsonl (every decision line received), requests.log.
        state, token = sys.argv[1], sys.argv[2]

        def read(name, default):
            try:
                with open(os.path.join(state, name)) as f:
                    return f.read()
            except FileNotFoundError:
                return default

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def reply(self, code, body, kind="application/json"):
                data = body.encode()
                self.send_response(code)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def gate(self):
                with open(os.path.join(state, "requests.log"), "a") as f:
                    f.write("%s %s auth=%s\n" % (self.command, self.path, self.headers.get("Authorization") == "Bearer " + token))
                mode = read("mode", "ok").strip()
                if self.headers.get("Authorization") != "Bearer " + token:
                    self.reply(401, '{"error":"unauthorised"}')
                    return False
                if mode == "500":
                    self.reply(500, '{"error":"the case system is down"}')
                    return False
                if mode == "hang":
                    time.sleep(120)
                    return False
                if mode == "slow":
                    time.sleep(0.25)
                if mode == "garbage":
                    self.reply(200, "<html>not json")
                    return False
                return True

            def do_GET(self):
                if not self.gate():
                    return
                path, _, query = self.path.partition("?")
                params = dict(p.split("=", 1) for p in query.split("&") if "=" in p)
                referrals = json.loads(read("referrals.json", "[]"))
                start = int(params.get("since", "c0")[1:] or 0)
                limit = int(params.get("limit", "100"))
                page = referrals[start:start + limit]
                end = start + len(page)
                self.reply(200, json.dumps({"referrals": page, "cursor": "c%d" % end, "more": end < len(referrals)}))

            def do_POST(self):
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length).decode()
                if not self.gate():
                    return
                with open(os.path.join(state, "decisions.jsonl"), "a") as f:
                    f.write(body if body.endswith("\n") or not body else body + "\n")
                self.reply(200, '{"ok":true}')

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        print(server.server_address[1], flush=True)
        server.serve_forever()
        """#
}
