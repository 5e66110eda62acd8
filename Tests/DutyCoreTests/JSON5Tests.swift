import Foundation
import Testing

@testable import DutyCore

@Suite struct JSON5Tests {
    @Test func readsJSON5Features() throws {
        let text = """
            // a comment
            {
              unquoted: 'single',  /* block */
              "quoted": "double\\n",
              hex: 0x1F, lead: .5, trail: 5., plus: +3, neg: -2,
              list: [1, 2, 3,],
              nested: { a: true, b: false, c: null, },
            }
            """
        let node = try JSON5Parser.parse(text)
        guard case .object(let members) = node.value else {
            Issue.record("not an object")
            return
        }
        #expect(members.map(\.key) == ["unquoted", "quoted", "hex", "lead", "trail", "plus", "neg", "list", "nested"])
        func value(_ k: String) -> JSONNode.Value? { members.first { $0.key == k }?.value.value }
        if case .string(let s) = value("unquoted") { #expect(s == "single") } else { Issue.record("unquoted") }
        if case .string(let s) = value("quoted") { #expect(s == "double\n") } else { Issue.record("quoted") }
        if case .number(let d, let i) = value("hex") { #expect(d == 31 && i == 31) } else { Issue.record("hex") }
        if case .number(let d, let i) = value("lead") { #expect(d == 0.5 && i == nil) } else { Issue.record("lead") }
        if case .number(let d, _) = value("trail") { #expect(d == 5) } else { Issue.record("trail") }
        if case .number(let d, let i) = value("neg") { #expect(d == -2 && i == -2) } else { Issue.record("neg") }
        #expect(members[0].keyPosition == SourcePosition(line: 3, column: 3))
        #expect(members[0].value.position == SourcePosition(line: 3, column: 13))
    }

    @Test func mapsStringBytesToSourcePositions() throws {
        let text = "{ when: \"a\\tb é c\" }"
        let node = try JSON5Parser.parse(text)
        guard case .object(let m) = node.value, case .string(let s) = m[0].value.value else {
            Issue.record("shape")
            return
        }
        #expect(s == "a\tb é c")
        let str = m[0].value
        #expect(str.position(ofByte: 0) == SourcePosition(line: 1, column: 10))  // a
        #expect(str.position(ofByte: 1) == SourcePosition(line: 1, column: 11))  // the \t escape starts here
        #expect(str.position(ofByte: 2) == SourcePosition(line: 1, column: 13))  // b
        #expect(str.position(ofByte: 6) == SourcePosition(line: 1, column: 16))  // c, after the two-byte é
        #expect(str.position(ofByte: 7) == SourcePosition(line: 1, column: 17))  // the closing quote
    }

    @Test(arguments: [
        ("{ a: 1", 1, 1, "unterminated object: expected '}'"),
        ("{ a 1 }", 1, 5, "expected ':' after key 'a'"),
        ("{ a: 1 b: 2 }", 1, 8, "expected ',' or '}' after the value of 'a', found 'b'"),
        ("[1, 2", 1, 1, "unterminated list: expected ']'"),
        ("{ a: 'x }", 1, 6, "unterminated string"),
        ("{ a: 'x\n' }", 1, 6, "unterminated string: line ends before the closing quote"),
        ("{ a: yes }", 1, 6, "unexpected 'yes': strings must be quoted"),
        ("\n\n  /* never closed", 3, 3, "unterminated /* comment"),
        ("{} {}", 1, 4, "unexpected '{' after the value"),
        ("", 1, 1, "empty document: expected a value"),
        ("{ a: 1.2.3 }", 1, 6, "invalid number '1.2.3'"),
    ])
    func reportsErrorsWithPositions(text: String, line: Int, column: Int, message: String) {
        do {
            _ = try JSON5Parser.parse(text)
            Issue.record("expected an error for \(text)")
        } catch {
            #expect(error.position == SourcePosition(line: line, column: column))
            #expect(error.message == message)
        }
    }

    @Test func limitsNesting() {
        let deep = String(repeating: "[", count: 500) + String(repeating: "]", count: 500)
        #expect(throws: JSONParseError.self) { try JSON5Parser.parse(deep) }
    }

    @Test func serialisesCanonically() {
        let v = JSONValue.object([
            ("b", .int(1)), ("a", .array([.string("x\"y\n"), .null, .bool(true), .number(2.5)])),
        ])
        #expect(v.serialized() == #"{"b":1,"a":["x\"y\n",null,true,2.5]}"#)
        #expect(v.serialized(sortedKeys: true) == #"{"a":["x\"y\n",null,true,2.5],"b":1}"#)
    }

    /// The canonical writer against a plain reference: integers as `String(i)`, whole numbers below 1e15 as
    /// integers, every control character, quote and backslash escaped wherever it falls, keys in byte order.
    @Test func canonicalWriterMatchesAReference() {
        func reference(_ s: String) -> String {
            var out = "\""
            for u in s.unicodeScalars {
                switch u {
                case "\"": out += "\\\""
                case "\\": out += "\\\\"
                case "\n": out += "\\n"
                case "\r": out += "\\r"
                case "\t": out += "\\t"
                case "\u{8}": out += "\\b"
                case "\u{C}": out += "\\f"
                case _ where u.value < 0x20: out += "\\u00" + (u.value < 0x10 ? "0" : "") + String(u.value, radix: 16)
                default: out.unicodeScalars.append(u)
                }
            }
            return out + "\""
        }
        var rng = SplitMix64(seed: 7)
        var integers: [Int64] = [0, 1, 9, 10, 11, 99, 100, -1, -9, -10, .max, .min, .max - 1, .min + 1]
        for _ in 0..<500 { integers.append(Int64(bitPattern: rng.next()) >> (rng.next() % 64)) }
        for i in integers {
            #expect(JSONValue.int(i).serialized() == String(i))
        }
        // Numbers as RFC 8785 writes them (more cases in CanonicalNumberTests); each reads back as itself.
        let numbers: [(Double, String)] = [
            (0, "0"), (-0.0, "0"), (1, "1"), (-1, "-1"), (2.5, "2.5"), (-2.5, "-2.5"), (1e15 - 1, "999999999999999"),
            (1e15, "1000000000000000"), (-1e15 + 1, "-999999999999999"), (123_456.75, "123456.75"),
            (1e300, "1e+300"), (0.1, "0.1"), (.infinity, "null"), (.nan, "null"),
        ]
        for (d, expected) in numbers { #expect(JSONValue.number(d).serialized() == expected) }
        for _ in 0..<2_000 {
            let d = Double(bitPattern: rng.next())
            guard d.isFinite else { continue }
            #expect(Double(JSONValue.number(d).serialized()) == (d == 0 ? 0 : d))
        }
        let alphabet: [Character] = [
            "a", "é", "🙂", "\"", "\\", "\n", "\r", "\t", "\u{0}", "\u{1F}", "\u{7F}", " ", "z",
        ]
        var strings = ["", "\"", "\\\\", "\n\n", "plain", "ends with \"", "\u{1}starts"]
        for _ in 0..<500 {
            strings.append(
                String((0..<Int(rng.next() % 40)).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] }))
        }
        for s in strings {
            #expect(JSONValue.string(s).serialized() == reference(s))
        }
        let keys = ["b", "a", "ab", "A", "é", "e", "", "aa", "🙂", "z"]
        let object = JSONValue.object(keys.map { ($0, .int(1)) })
        let sortedKeys = keys.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        #expect(
            object.serialized(sortedKeys: true) == "{" + sortedKeys.map { reference($0) + ":1" }.joined(separator: ",")
                + "}")
        #expect(object.serialized() == "{" + keys.map { reference($0) + ":1" }.joined(separator: ",") + "}")
    }

    /// Found by Tests/Fuzz/run (config, spool and control targets): an unquoted key of invalid UTF-8 bytes was
    /// skipped by its decoded length (each bad byte decodes to the 3-byte U+FFFD), running past the end.
    @Test func unquotedKeyOfInvalidUTF8DoesNotRunPastTheEnd() throws {
        let bad: [UInt8] = [0xB6, 0xB6, 0xB6]
        let node = try JSON5Parser.parse(bytes: Array("{".utf8) + bad + Array(":1}".utf8))
        guard case .object(let members) = node.value else {
            Issue.record("not an object")
            return
        }
        #expect(members.count == 1)
        if case .number(_, let i)? = members.first?.value.value { #expect(i == 1) } else { Issue.record("value") }
        for tail in ["", ":", "\"", "}"] {
            #expect(throws: JSONParseError.self) {
                try JSON5Parser.parse(bytes: Array("{".utf8) + bad + Array(tail.utf8))
            }
        }
        #expect(throws: JSONParseError.self) { try JSON5Parser.parse(bytes: bad) }
    }

    /// Found by Tests/Fuzz/run (control target): `{"v":222...2}` trapped converting a huge double to Int64.
    @Test func hugeNumbersAreNotIntegers() throws {
        let node = try JSON5Parser.parse(#"{"v":222222222222222222222222222222222222222222}"#)
        #expect(JSONValue(node)["v"]?.intValue == nil)
        #expect(JSONValue.number(1e300).intValue == nil)
        #expect(JSONValue.number(.infinity).intValue == nil)
        #expect(JSONValue.number(42).intValue == 42)
    }
}
