import Foundation
import Testing

@testable import DutyCore

let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().path

@Suite struct RosterTests {
    @Test func loadsTheExampleRoster() throws {
        let (roster, diagnostics) = try Roster.load(path: repositoryRoot + "/systemd/roster.json5")
        #expect(!diagnostics.hasErrors)
        #expect(roster.teams.count == 6)
        #expect(roster.workers.count >= 40)
        #expect(
            roster.kinds == ["care_act_assessment", "dols", "financial_assessment", "ot", "review", "safeguarding"])
        #expect(roster.teamForKind["dols"] == "dols")
        #expect(roster.chain(forTeam: "safeguarding") == ["w-100", "w-101", "w-901", "w-902", "w-900"])
        // The reviewing team has no deputy: its chain goes straight to the service.
        #expect(roster.chain(forTeam: "reviewing") == ["w-400", "w-901", "w-902", "w-900"])
        #expect(roster.workers.contains { $0.asye })
        #expect(roster.workers.contains { $0.role == "ot_aide" })
        #expect(roster.workers.contains { $0.skills.contains("bia") })
        #expect(roster.workerByUnixUser["mhale"]?.id == "w-100")
    }

    static let broken = """
        {
          services: [ { id: "svc", name: "S", head: "w-9", duty_managers: ["w-2"] } ],
          teams: [
            { id: "t1", name: "T1", service: "svc", manager: "w-1", kinds: ["dols"] },
            { id: "t2", name: "T2", service: "svx", manager: "w-3", kinds: ["dols", "ot"] },
            { id: "t1", name: "dup", service: "svc", kinds: [] },
          ],
          workers: [
            { id: "w-1", name: "A", team: "t1", role: "team_manager" },
            { id: "w-2", name: "B", team: "t1", role: "social_worker", capacity: 10 },
            { id: "w-2", name: "C", team: "t3", role: "social_worker", capacity: -1, experience: 9 },
            { id: "w-3", name: "D", team: "t2", role: "team_manager", unix_user: "dd", colour: "red" },
            { id: "w-4", name: "E", team: "t2", role: "team_manager", unix_user: "dd" },
          ],
        }
        """

    @Test func reportsEveryReferenceError() {
        let (_, diagnostics) = Roster.parse(Self.broken, file: "r.json5")
        let errors = diagnostics.filter { $0.severity == .error }.map(\.description)
        let expected = [
            "r.json5:2:45: head of service 'svc': unknown worker 'w-9'; did you mean 'w-1'?",
            "r.json5:2:68: duty manager of service 'svc': worker 'w-2' has role 'social_worker', not a manager role (team_manager, deputy_manager, service_manager, head_of_service)",
            "r.json5:5:38: service of team 't2': unknown service 'svx'; did you mean 'svc'?",
            "r.json5:5:69: kind 'dols' is handled by more than one team ('t1' and 't2'): each kind needs exactly one",
            "r.json5:6:5: duplicate team id 't1'",
            "r.json5:11:5: duplicate worker id 'w-2'",
            "r.json5:11:35: team of worker 'w-2': unknown team 't3'; did you mean 't1'?",
            "r.json5:11:74: capacity of worker 'w-2' must not be negative",
            "r.json5:11:90: 'experience' in a worker must be between 1 and 5",
            "r.json5:12:80: unknown key 'colour' in a worker",
            "r.json5:13:74: unix_user 'dd' is already used by worker 'w-3'",
        ]
        for e in expected { #expect(errors.contains(e), "missing: \(e)\ngot: \(errors.joined(separator: "\n"))") }
        #expect(errors.count == expected.count, "\(errors.joined(separator: "\n"))")
    }

    @Test func requiresTheTopLevelLists() {
        let (_, diagnostics) = Roster.parse("{ teams: [] }", file: "r.json5")
        #expect(diagnostics.map(\.description).contains("r.json5:1:1: the roster is missing required key 'services'"))
        #expect(diagnostics.map(\.description).contains("r.json5:1:1: the roster is missing required key 'workers'"))
    }
}

@Suite struct ConfigTests {
    @Test func resolvesRelativePathsAndDefaults() {
        let (config, diagnostics) = DutyConfig.parse(
            "{ state_dir: 'state', spool_dir: '/var/spool/duty', policies: '../policies', roster: 'roster.json5' }",
            file: "/etc/duty/dutyd.conf")
        #expect(diagnostics.isEmpty)
        #expect(config?.stateDir == "/etc/duty/state")
        #expect(config?.policiesDir == "/etc/policies")
        #expect(config?.socketPath == "/etc/duty/state/dutyd.sock")
        #expect(config?.cycle == Duration(60, .seconds))
        #expect(config?.timeZone.identifier == "Europe/London")
    }

    @Test func reportsBadValuesWithPositions() {
        let text = """
            {
              state_dir: "/s", spool_dir: "/p", policies: "/q",
              roster: 7,
              cycle: "1 minute",
              timezone: "Mars/Olympus",
              socket_grup: "duty",
            }
            """
        let (_, diagnostics) = DutyConfig.parse(text, file: "c.conf")
        #expect(
            diagnostics.map(\.description) == [
                "c.conf:3:11: 'roster' in the config must be a string, not a number",
                "c.conf:4:10: 'cycle' in the config: invalid duration '1 minute': write an integer and a unit s, m, h, d or w, like \"4h\" or \"28d\"",
                "c.conf:5:13: unknown time zone 'Mars/Olympus': use an IANA name like \"Europe/London\"",
                "c.conf:6:3: unknown key 'socket_grup' in the config; did you mean 'socket_group'?",
            ])
    }

    @Test func locatesTheConfig() {
        #expect(DutyConfig.locate(explicit: "/x", environment: ["DUTY_CONFIG": "/y"]) == "/x")
        #expect(DutyConfig.locate(explicit: nil, environment: ["DUTY_CONFIG": "/y"]) == "/y")
        #expect(DutyConfig.locate(explicit: nil, environment: [:]) == "/etc/duty/dutyd.conf")
    }
}

@Suite struct ReferralDecoderTests {
    let decoder = ReferralDecoder(
        timeZone: TimeZone(identifier: "Europe/London")!, knownKinds: ["dols", "safeguarding"], knownTeams: ["dols"])

    func decode(_ text: String) -> RecordResult { decoder.decode(try! JSON5Parser.parse(text)) }

    @Test func decodesAFullRecord() {
        let r = decode(
            """
            {"id":"LAS-1","person":"P-1","kind":"dols","team":"dols","received":"2024-09-10T09:30:00Z",
             "flags":["objection"],"facts":{"age":88,"setting":"care_home","settled":false,"since":"2024-01-02"},
             "complexity":4,"skills":["bia"],"status":"open"}
            """)
        guard case .valid(let referral) = r else {
            Issue.record("expected valid: \(r)")
            return
        }
        #expect(referral.facts["age"] == .number(88))
        #expect(referral.facts["since"] == .string("2024-01-02"))
        #expect(referral.complexity == 4)
        #expect(ISOTime.format(referral.received) == "2024-09-10T09:30:00Z")
    }

    @Test func defaults() {
        guard case .valid(let r) = decode(#"{"id":"a","person":"p","kind":"dols","received":"2024-09-10"}"#) else {
            Issue.record("expected valid")
            return
        }
        #expect(r.complexity == 3 && r.status == .open && r.team == nil && r.flags.isEmpty)
    }

    @Test func reportsEveryBadField() {
        let r = decode(
            """
            {"id":"has space","person":"","kind":"dolls","team":"nope","received":"10/09/2024",
             "flags":["Objection"],"facts":{"x":[1]},"complexity":7,"status":"done","extra":1}
            """)
        guard case .invalid(let errors) = r else {
            Issue.record("expected invalid")
            return
        }
        #expect(
            errors.map(\.description).sorted() == [
                "complexity: must be a whole number from 1 to 5, not 7",
                "extra: unknown field",
                "facts.x: must be a string, number, boolean or ISO date, not a list",
                "flags: 'Objection' must be lower-case letters, digits and _",
                "id: must be 1-64 characters of A-Z a-z 0-9 . _ : / -",
                "kind: unknown kind 'dolls': no team handles it; did you mean 'dols'?",
                "person: must be 1-64 characters",
                "received: '10/09/2024' is not an ISO 8601 date or date-time (2024-09-10 or 2024-09-10T09:30:00Z)",
                "status: must be 'open' or 'closed', not 'done'",
                "team: unknown team 'nope'",
            ])
    }

    @Test func requiresFields() {
        guard case .invalid(let errors) = decode("{}") else {
            Issue.record("expected invalid")
            return
        }
        #expect(
            Set(errors.map(\.description)) == [
                "id: is required", "person: is required", "kind: is required", "received: is required",
            ])
    }

    @Test func readsJSONLLineByLine() throws {
        let text = """
            {"id":"a","person":"p","kind":"dols","received":"2024-09-10"}

            not json
            {"id":"b","person":"p","kind":"dols","received":"2024-09-10"}
            """
        var records: [(location: RecordLocation, result: RecordResult)] = []
        var given = false
        try SpoolReader(decoder: decoder).read(
            format: .jsonl,
            next: {
                defer { given = true }
                return given ? nil : Array(text.utf8)
            }, record: { records.append(($0, $1)) })
        #expect(records.map(\.location.description) == ["line 1", "line 3", "line 4"])
        if case .invalid(let e) = records[1].result {
            #expect(e[0].message.hasPrefix("not valid JSON at column 1"))
        } else {
            Issue.record("line 3 should be invalid")
        }
    }
}
