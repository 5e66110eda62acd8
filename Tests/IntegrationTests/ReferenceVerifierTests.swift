import DutyCore
import Foundation
import Testing

/// An independent verifier, written from the README's description of the chain and RFC 8785 (Python's json and
/// hashlib, not duty's code), recomputes every hash of a real log: so anyone can check the allocation log.
@Suite(.serialized) struct ReferenceVerifierTests {
    /// The README's rule: SHA-256 of the previous hash's hex and the canonical JSON of
    /// {actor, at, data, referral, seq, type}; canonical JSON is RFC 8785's (keys sorted, no whitespace, strings
    /// as JSON.stringify writes them, numbers as ECMAScript's Number.prototype.toString).
    static let verifier = #"""
        import hashlib, json, sys

        def number(x):
            if isinstance(x, int):
                return str(x)
            if x != x or x in (float("inf"), float("-inf")):
                return "null"
            if x == 0:
                return "0"
            mantissa, _, exp = repr(abs(x)).partition("e")
            whole, _, fraction = mantissa.partition(".")
            digits = whole + fraction
            point = len(whole) + (int(exp) if exp else 0)
            stripped = digits.lstrip("0")
            point -= len(digits) - len(stripped)
            digits = stripped.rstrip("0") or "0"
            k, n = len(digits), point
            if k <= n <= 21:
                text = digits + "0" * (n - k)
            elif 0 < n <= 21:
                text = digits[:n] + "." + digits[n:]
            elif -6 < n <= 0:
                text = "0." + "0" * -n + digits
            else:
                text = digits[0] + ("." + digits[1:] if k > 1 else "") + "e" + ("-" if n - 1 < 0 else "+") + str(abs(n - 1))
            return ("-" if x < 0 else "") + text

        def canonical(v):
            if v is None or isinstance(v, bool) or isinstance(v, str):
                return json.dumps(v, ensure_ascii=False)
            if isinstance(v, (int, float)):
                return number(v)
            if isinstance(v, list):
                return "[" + ",".join(canonical(x) for x in v) + "]"
            keys = sorted(v, key=lambda k: k.encode("utf-16-be"))
            return "{" + ",".join(json.dumps(k, ensure_ascii=False) + ":" + canonical(v[k]) for k in keys) + "}"

        previous = "0" * 64
        count = 0
        text = sys.stdin.buffer.read().decode("utf-8")
        for line in text.split("\n"):
            if not line:
                continue
            event = json.loads(line)
            body = {k: event[k] for k in ("actor", "at", "data", "referral", "seq", "type")}
            digest = hashlib.sha256((previous + canonical(body)).encode("utf-8")).hexdigest()
            if digest != event["hash"]:
                print("mismatch at seq %d: %s" % (event["seq"], canonical(body)))
                sys.exit(1)
            previous = digest
            count += 1
        print("ok %d %s" % (count, previous))
        """#

    @Test func pythonRecomputesEveryHashOfARealLog() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") else {
            print("skipped: no /usr/bin/python3 for the reference verifier")
            return
        }
        let d = try Deployment()
        // Facts with the numbers and escapes a naive verifier gets wrong; the second record's 9007199254740993 is
        // beyond 2^53 and is refused, not rounded (its rejection, with the message, is in the log too).
        let tricky = "q\"b\\s\u{1}\u{8}\u{C}\n\t\r\u{7F} \u{2028}\u{2029} é 😀 \u{FEFF}"
        let facts: JSONValue = .object([
            ("big", .int(9_007_199_254_740_991)), ("wide", .number(1_000_000_000_000_001)),
            ("tenth", .number(0.1)), ("sum", .number(0.1 + 0.2)), ("tiny", .number(1e-7)),
            ("huge_float", .number(1.5e300)), ("neg", .number(-2.5)), ("text", .string(tricky)),
        ])
        let one = JSONValue.object([
            ("id", .string("SG-1")), ("person", .string("P-1")), ("kind", .string("safeguarding")),
            ("received", .string("2024-09-10T08:00:00Z")), ("facts", facts),
        ])
        let two =
            #"{"id":"SG-2","person":"P-2","kind":"safeguarding","received":"2024-09-10T08:00:00Z","facts":{"n":9007199254740993,"m":1e16}}"#
        try d.drop("a.jsonl", one.serialized() + "\n" + two + "\n")
        #expect(try d.once(at: "2024-09-10T09:00:00Z").code == 0)
        let log = try run("duty", ["--config", d.config, "log", "--format", "json"])
        #expect(log.code == 0)
        let lines = log.out.split(separator: "\n", omittingEmptySubsequences: true)
        #expect(lines.count == (try d.events().count), "one event per line")
        #expect(!log.out.contains("\u{2028}") && !log.out.contains("\u{2029}"), "line separators are escaped")
        #expect(log.out.contains(#""big":9007199254740991"#) && log.out.contains(#""wide":1000000000000001"#))
        #expect(log.out.contains(#""sum":0.30000000000000004"#) && log.out.contains(#""tiny":1e-7"#))
        #expect(log.out.contains(#""huge_float":1.5e+300"#))
        #expect(log.out.contains("too large to hold exactly"))
        let script = d.dir + "/verify.py"
        try Self.verifier.write(toFile: script, atomically: true, encoding: .utf8)
        let checked = try run("/usr/bin/python3", [script], stdin: log.out, absolute: true)
        #expect(checked.code == 0, "\(checked.out)\(checked.err)")
        let head = try #require(try d.events().last)
        #expect(checked.out == "ok \(lines.count) \(head.hash)\n")
    }
}
