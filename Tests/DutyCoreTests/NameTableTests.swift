import Testing

@testable import DutyCore

@Suite struct NameTableTests {
    @Test func findsNamesByLengthThenBytes() {
        // Same lengths ("dols"/"abcd"), a long name, one built at run time (not the literal's storage).
        let built = String(decoding: Array("care_act_assessment".utf8), as: UTF8.self)
        var table = NameTable(["dols", "abcd", "care_act_assessment", "ot", ""])
        #expect(table.position(of: "dols") == 0)
        #expect(table.position(of: "abcd") == 1)
        #expect(table.position(of: built) == 2)
        #expect(table.position(of: "ot") == 3)
        #expect(table.position(of: "") == 4)
        #expect(table.position(of: "dolz") == nil)
        #expect(table.position(of: "care_act_assessmenT") == nil)
        #expect(table.append("new") == 5)
        #expect(table.position(of: "new") == 5)
        #expect(table.names == ["dols", "abcd", "care_act_assessment", "ot", "", "new"])
        // Lengths are counted in UTF-8 bytes: "é" is two.
        table.append("é")
        #expect(table.position(of: "é") == 6)
        #expect(table.position(of: "e\u{301}") == 6)  // canonically equivalent, as String's == says
        #expect(NameTable(["TK"]).position(of: "T\u{212A}") == 0)  // the Kelvin sign is K
    }

    @Test func manyNamesAreHashed() {
        var table = NameTable((0..<50).map { "t\($0)" })
        #expect(table.position(of: "t0") == 0)
        #expect(table.position(of: "t49") == 49)
        #expect(table.position(of: "t50") == nil)
        #expect(table.append("t50") == 50)
        #expect(table.position(of: "t50") == 50)
        #expect(table.position(of: "caf\u{E9}") == nil)
        table.append("caf\u{E9}")
        #expect(table.position(of: "cafe\u{301}") == 51)
    }
}
