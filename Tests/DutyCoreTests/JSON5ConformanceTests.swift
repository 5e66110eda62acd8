import Foundation
import Testing

@testable import DutyCore

/// One file of the JSON5 project's conformance suite (`json5/json5-tests`), copied in byte for byte so the tests
/// need no network. `.json` and `.json5` files must parse; `.js` (valid ES5 that JSON5 forbids) and `.txt` files
/// must not.
struct JSON5SuiteFile: Sendable, CustomTestStringConvertible {
    var file: String
    var text: String
    /// For files that must be rejected: where the error must point.
    var line = 0
    var column = 0

    var testDescription: String { file }
}

@Suite struct JSON5ConformanceTests {
    // MARK: Suite files the reader used to get wrong

    static let acceptedSuiteFiles: [JSON5SuiteFile] = [
        .init(file: "new-lines/comment-cr.json5", text: "{\r    // This comment is terminated with `\\r`.\r}\r"),
        .init(
            file: "new-lines/escaped-cr.json5",
            text: "{\r    // the following string contains an escaped `\\r`\r    a: 'line 1 \\\rline 2'\r}\r"),
        .init(
            file: "new-lines/escaped-crlf.json5",
            text:
                "{\r\n    // the following string contains an escaped `\\r\\n`\r\n    a: 'line 1 \\\r\nline 2'\r\n}\r\n"
        ),
        .init(
            file: "todo/unicode-escaped-unquoted-key.json5", text: "{\n    sig\\u03A3ma: \"the sum of all things\"\n}"),
        // These passed before; they cover the neighbouring rules (LF continuations, non-ASCII keys).
        .init(
            file: "new-lines/escaped-lf.json5",
            text: "{\n    // the following string contains an escaped `\\n`\n    a: 'line 1 \\\nline 2'\n}\n"),
        .init(
            file: "new-lines/comment-crlf.json5", text: "{\r\n    // This comment is terminated with `\\r\\n`.\r\n}\r\n"
        ),
        .init(
            file: "todo/unicode-unquoted-key.json5",
            text: "{\n    ümlåût: \"that's not really an ümlaüt, but this is\"\n}"),
    ]

    /// Octal and "noctal" numbers: a number may start with 0 only when a point, an exponent or `x` follows.
    static let rejectedSuiteFiles: [JSON5SuiteFile] = [
        .init(file: "numbers/negative-noctal.js", text: "-098\n", line: 1, column: 1),
        .init(file: "numbers/negative-octal.txt", text: "-0123\n", line: 1, column: 1),
        .init(file: "numbers/negative-zero-octal.txt", text: "-00\n", line: 1, column: 1),
        .init(file: "numbers/noctal-with-leading-octal-digit.js", text: "0780\n", line: 1, column: 1),
        .init(file: "numbers/noctal.js", text: "080\n", line: 1, column: 1),
        .init(file: "numbers/octal.txt", text: "010\n", line: 1, column: 1),
        .init(file: "numbers/positive-noctal.js", text: "+098\n", line: 1, column: 1),
        .init(file: "numbers/positive-octal.txt", text: "+0123\n", line: 1, column: 1),
        .init(file: "numbers/positive-zero-octal.txt", text: "+00\n", line: 1, column: 1),
        .init(file: "numbers/zero-octal.txt", text: "00\n", line: 1, column: 1),
        // These passed before; they pin the neighbouring rejections and their positions.
        .init(file: "strings/unescaped-multi-line-string.txt", text: "\"foo\nbar\"\n", line: 1, column: 1),
        .init(
            file: "objects/illegal-unquoted-key-number.txt", text: "{\n    10twenty: \"ten twenty\"\n}", line: 2,
            column: 5),
        .init(
            file: "objects/illegal-unquoted-key-symbol.txt", text: "{\n    multi-word: \"multi-word\"\n}", line: 2,
            column: 10),
        .init(file: "arrays/no-comma-array.txt", text: "[\n    true\n    false\n]", line: 3, column: 5),
        .init(file: "numbers/integer-with-float-exponent.txt", text: "1e2.3\n", line: 1, column: 1),
        .init(file: "numbers/hexadecimal-empty.txt", text: "0x\n", line: 1, column: 3),
    ]

    @Test(arguments: acceptedSuiteFiles)
    func acceptsSuiteFile(_ file: JSON5SuiteFile) throws {
        _ = try JSON5Parser.parse(file.text)
    }

    @Test(arguments: rejectedSuiteFiles)
    func rejectsSuiteFile(_ file: JSON5SuiteFile) {
        let error = Self.rejection(Array(file.text.utf8))
        #expect(error?.position == SourcePosition(line: file.line, column: file.column), "\(error?.message ?? "")")
    }

    @Test func suiteFilesDecodeToTheirValues() throws {
        for file in Self.acceptedSuiteFiles where file.file.hasPrefix("new-lines/escaped-") {
            #expect(Self.string(try Self.member("a", of: file.text)) == "line 1 line 2", "\(file.file)")
        }
        #expect(try Self.keys(of: Self.acceptedSuiteFiles[3].text) == ["sigΣma"])
        #expect(try Self.keys(of: Self.acceptedSuiteFiles[6].text) == ["ümlåût"])
    }

    // MARK: Line continuations

    /// A backslash before LF, CR, CRLF, U+2028 or U+2029 is dropped with the line break.
    @Test(arguments: ["\n", "\r", "\r\n", "\u{2028}", "\u{2029}"])
    func lineContinuation(lineBreak: String) throws {
        let text = "{ a: 'one \\\(lineBreak)two', b: \"x\\\(lineBreak)\\\(lineBreak)y\" }"
        #expect(Self.string(try Self.member("a", of: text)) == "one two")
        #expect(Self.string(try Self.member("b", of: text)) == "xy")
    }

    @Test func lineContinuationKeepsPositionsOfTheNextLine() throws {
        let node = try JSON5Parser.parse("{ a: 'ab\\\r\ncd' }")
        guard case .object(let members) = node.value else {
            Issue.record("not an object")
            return
        }
        let string = members[0].value
        #expect(string.position(ofByte: 1) == SourcePosition(line: 1, column: 8))  // b
        #expect(string.position(ofByte: 2) == SourcePosition(line: 2, column: 1))  // c
        #expect(string.position(ofByte: 4) == SourcePosition(line: 2, column: 3))  // the closing quote
    }

    /// Unescaped U+2028 and U+2029 may stand in a string; LF and CR may not.
    @Test func unicodeLineSeparatorsMayStandInStrings() throws {
        #expect(Self.string(try JSON5Parser.parse("'a\u{2028}b\u{2029}c'").value) == "a\u{2028}b\u{2029}c")
        #expect(Self.rejection(Array("['a\rb']".utf8))?.position == SourcePosition(line: 1, column: 2))
    }

    // MARK: Comments

    /// A `//` comment ends at LF, CR, U+2028 or U+2029.
    @Test(arguments: ["\n", "\r", "\r\n", "\u{2028}", "\u{2029}"])
    func lineCommentEndsAtAnyLineTerminator(lineBreak: String) throws {
        let node = try JSON5Parser.parse("[1, // one\(lineBreak)2]")
        guard case .array(let items) = node.value else {
            Issue.record("not a list")
            return
        }
        #expect(items.count == 2)
    }

    // MARK: Numbers

    @Test(arguments: [
        ("[010]", 1, 2), ("{ a: -010 }", 1, 6), ("[1, 00]", 1, 5), ("[+010]", 1, 2), ("00.5", 1, 1),
        ("[0.1, 01e1]", 1, 7),
        ("1e", 1, 1), ("1e+", 1, 1), ("-.", 1, 1), (".e1", 1, 1), ("0x1g", 1, 4), ("1é", 1, 2), ("- 1", 1, 1),
    ])
    func rejectsInvalidNumbers(text: String, line: Int, column: Int) {
        #expect(Self.rejection(Array(text.utf8))?.position == SourcePosition(line: line, column: column), "\(text)")
    }

    @Test func leadingZeroErrorNamesTheNumber() {
        #expect(
            Self.rejection(Array("-010".utf8))?.message
                == "invalid number '-010': a leading 0 must not be followed by a digit")
    }

    @Test func acceptsZeroForms() throws {
        let node = try JSON5Parser.parse("[0, -0, +0, 0., 0.0, .0, 0e0, 0E+1, 0x0, -0x0, 0.e1, 1.e0, 1e01]")
        guard case .array(let items) = node.value else {
            Issue.record("not a list")
            return
        }
        #expect(items.count == 13)
        #expect(items.map { Self.double($0.value) } == [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 10])
    }

    /// JSON5 numbers are doubles: hex literals beyond 64 bits are read, rounded once to nearest.
    @Test func readsHexBeyond64Bits() throws {
        let cases: [(String, Double, Int64?)] = [
            ("-0x0123456789abcdefABCDEF", -1.3754889325393114e24, nil),
            // 2^53 + 1 and then a nonzero digit far below: the tie breaks upwards, not to even.
            ("0x200000000000010000001", 2.417851639229259e24, nil),
            ("0x200000000000010000000", 2.4178516392292583e24, nil),
            ("0xFFFFFFFFFFFFFFFF", 0x1p64, nil),
            ("-0x8000000000000000", -9_223_372_036_854_775_808, .min),
            ("0x7FFFFFFFFFFFFFFF", 0x1p63, .max),
        ]
        for (text, double, integer) in cases {
            let value = try JSON5Parser.parse(text).value
            #expect(Self.double(value) == double, "\(text)")
            #expect(Self.integer(value) == integer, "\(text)")
        }
    }

    // MARK: Strings

    @Test func escapes() throws {
        let text = #"'\b\f\n\r\t\v\0\x0f\u01fF\a\'\"\/\é\uD83D\uDE00'"#
        #expect(Self.string(try JSON5Parser.parse(text).value) == "\u{8}\u{C}\n\r\t\u{B}\u{0}\u{F}\u{1FF}a'\"/é😀")
        // A lone surrogate is not a character: it reads as U+FFFD and what follows is kept.
        #expect(Self.string(try JSON5Parser.parse(#"'\uD800\u0041\uDC00'"#).value) == "\u{FFFD}A\u{FFFD}")
    }

    /// `\1` to `\9` and `\0` before a digit are octal escapes, which JSON5 forbids.
    @Test(arguments: [#"'\1'"#, #"'\9'"#, #"'\01'"#, #"'\08'"#])
    func rejectsOctalEscapes(text: String) {
        #expect(Self.rejection(Array(text.utf8))?.position == SourcePosition(line: 1, column: 2), "\(text)")
    }

    // MARK: Keys and white space

    @Test func unquotedKeysAreIdentifierNames() throws {
        #expect(
            try Self.keys(of: #"{ $_: 1, _$: 2, a\u200C: 3, \u0061\u0062: 4, ùńîċõďë: 5, while: 6 }"#) == [
                "$_", "_$", "a\u{200C}", "ab", "ùńîċõďë", "while",
            ])
        // A space after a key is not part of it.
        #expect(try Self.keys(of: "{ a\u{A0}: 1, b\u{3000}: 2 }") == ["a", "b"])
    }

    @Test(arguments: [
        (#"{\u0021:1}"#, 1, 2), (#"{a\u0021:1}"#, 1, 3), (#"{\a:1}"#, 1, 2), (#"{a\u00:1}"#, 1, 3), ("{a!1}", 1, 3),
        (#"tru\u0065"#, 1, 1), ("{ a: nul }", 1, 6), ("{ a: true\u{200C} }", 1, 6),
    ])
    func rejectsBadIdentifiers(text: String, line: Int, column: Int) {
        #expect(Self.rejection(Array(text.utf8))?.position == SourcePosition(line: line, column: column), "\(text)")
    }

    /// White space is the ASCII spaces, U+00A0, U+FEFF, U+2028, U+2029 and every space separator (Zs).
    @Test func acceptsUnicodeWhiteSpace() throws {
        let node = try JSON5Parser.parse("{\t\u{B}\u{C} \u{A0}\u{FEFF}\n\r\u{2028}\u{2029}\u{2003}\u{1680}\u{3000}a:1}")
        #expect(node.position == SourcePosition(line: 1, column: 1))
        #expect(try Self.keys(of: "\u{FEFF}{ a: [1\u{A0}, 2\u{2003}] }") == ["a"])
        #expect(Self.rejection(Array("[1, \u{200B}2]".utf8))?.position == SourcePosition(line: 1, column: 5))
    }

    /// A UTF-8 byte order mark at the very start is skipped and takes no column.
    @Test func skipsByteOrderMark() throws {
        let node = try JSON5Parser.parse(bytes: [0xEF, 0xBB, 0xBF] + Array("\n  {a:1}".utf8))
        #expect(node.position == SourcePosition(line: 2, column: 3))
        #expect(Self.rejection([0xEF, 0xBB, 0xBF])?.message == "empty document: expected a value")
    }

    // MARK: Helpers

    private static func rejection(_ bytes: [UInt8]) -> JSONParseError? {
        do {
            _ = try JSON5Parser.parse(bytes: bytes)
            return nil
        } catch {
            return error
        }
    }

    private static func string(_ value: JSONNode.Value?) -> String? {
        if case .string(let s)? = value { s } else { nil }
    }

    private static func double(_ value: JSONNode.Value?) -> Double? {
        if case .number(let d, _)? = value { d } else { nil }
    }

    private static func integer(_ value: JSONNode.Value?) -> Int64? {
        if case .number(_, let i)? = value { i } else { nil }
    }

    private static func keys(of text: String) throws -> [String] {
        guard case .object(let members) = try JSON5Parser.parse(text).value else { return [] }
        return members.map(\.key)
    }

    private static func member(_ key: String, of text: String) throws -> JSONNode.Value? {
        guard case .object(let members) = try JSON5Parser.parse(text).value else { return nil }
        return members.first { $0.key == key }?.value.value
    }

    // MARK: The whole suite, locally

    /// Runs every case of a local copy of `json5/json5-tests` when `JSON5_SUITE_DIR` names it (not in CI, which
    /// has no copy): `git --git-dir=<snapshot> archive HEAD | tar -x -C <dir>`.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["JSON5_SUITE_DIR"] != nil))
    func wholeSuiteFromEnvironment() throws {
        let root = ProcessInfo.processInfo.environment["JSON5_SUITE_DIR"] ?? ""
        var agreed = 0
        var total = 0
        var disagreements: [String] = []
        for path in (FileManager.default.subpaths(atPath: root) ?? []).sorted() {
            let ext = (path as NSString).pathExtension
            guard ["json", "json5", "js", "txt"].contains(ext) else { continue }
            let data = try Data(contentsOf: URL(fileURLWithPath: root).appendingPathComponent(path))
            let mustParse = ext == "json" || ext == "json5"
            let error = Self.rejection(Array(data))
            total += 1
            if (error == nil) == mustParse {
                agreed += 1
            } else {
                disagreements.append(
                    "\(path): \(error.map { "\($0.position.line):\($0.position.column) \($0.message)" } ?? "accepted")")
            }
        }
        print("JSON5 suite: agreed on \(agreed) of \(total)")
        for d in disagreements { print("  disagrees: \(d)") }
        #expect(total > 100)
        #expect(disagreements.isEmpty)
    }
}
