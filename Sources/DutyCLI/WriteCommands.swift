import DutyControl
import DutyCore
import DutyStore
import Foundation

/// Commands that change something: sent to dutyd over its control socket, which identifies the caller and
/// decides whether they may (SPEC "duty", write commands).
enum WriteCommands {
    static let reason = OptionSpec(long: "reason", value: "TEXT", help: "why (recorded in the log)", required: true)

    static let assign = CommandSpec(
        name: "assign", summary: "allocate a referral to a worker, overriding the engine",
        positionals: [
            PositionalSpec(name: "REF", help: "the referral id"),
            PositionalSpec(name: "WORKER", help: "the worker's roster id"),
        ],
        options: [reason],
        discussion:
            "For the referral team's accountable chain. An override may break eligibility (capacity, a rule); the event records which.",
        examples: ["duty assign LAS-1 w-110 --reason \"continuity with the family\""],
        run: { inv throws(DutyError) in
            try send(
                inv,
                ControlRequest(
                    op: .assign, referral: inv.positionals[0], worker: inv.positionals[1], reason: inv.value("reason")))
        })

    static let unassign = CommandSpec(
        name: "unassign", summary: "take a referral back from its worker: it waits again",
        positionals: [PositionalSpec(name: "REF", help: "the referral id")], options: [reason],
        examples: ["duty unassign LAS-1 --reason \"worker off sick long-term\""],
        run: { inv throws(DutyError) in
            try send(inv, ControlRequest(op: .unassign, referral: inv.positionals[0], reason: inv.value("reason")))
        })

    static let rerate = CommandSpec(
        name: "rerate", summary: "pin a referral's level (or --clear the pin)",
        positionals: [
            PositionalSpec(name: "REF", help: "the referral id"),
            PositionalSpec(name: "LEVEL", help: "a level of the referral's policy", optional: true),
        ],
        options: [
            OptionSpec(long: "reason", value: "TEXT", help: "why (required unless --clear)"),
            OptionSpec(long: "clear", help: "remove the pin: the policy rates it again"),
        ],
        discussion:
            "The pin holds until cleared, or until the policy's level rises above it (then it is raised and logged).",
        examples: ["duty rerate LAS-1 red --reason \"new information from the GP\"", "duty rerate LAS-1 --clear"],
        run: { inv throws(DutyError) in
            let clear = inv.flag("clear")
            if clear == (inv.positionals.count > 1) {
                throw DutyError(.usage, "give a LEVEL, or --clear", cause: "rerate")
            }
            if !clear && inv.value("reason") == nil {
                throw DutyError(.usage, "missing option --reason TEXT", cause: "rerate")
            }
            return try send(
                inv,
                ControlRequest(
                    op: .rerate, referral: inv.positionals[0],
                    level: inv.positionals.count > 1 ? inv.positionals[1] : nil,
                    reason: inv.value("reason"), clear: clear))
        })

    static let ack = CommandSpec(
        name: "ack", summary: "acknowledge a top-rank allocation you are accountable for",
        positionals: [PositionalSpec(name: "REF", help: "the referral id")], examples: ["duty ack LAS-1"],
        run: { inv throws(DutyError) in try send(inv, ControlRequest(op: .ack, referral: inv.positionals[0])) })

    static let reviewed = CommandSpec(
        name: "reviewed", summary: "record that a waiting referral was reviewed (contacted, re-screened)",
        positionals: [PositionalSpec(name: "REF", help: "the referral id")],
        options: [OptionSpec(long: "note", value: "TEXT", help: "what was done", required: true)],
        examples: ["duty reviewed LAS-1 --note \"phoned the carer; no change\""],
        run: { inv throws(DutyError) in
            try send(inv, ControlRequest(op: .reviewed, referral: inv.positionals[0], note: inv.value("note")))
        })

    static let absence = CommandSpec(
        name: "absence", summary: "record, end and list absences",
        subcommands: [
            CommandSpec(
                name: "add", summary: "record an absence (a manager of the worker's chain, or the worker)",
                positionals: [PositionalSpec(name: "WORKER", help: "the worker's roster id")],
                options: [
                    OptionSpec(long: "from", value: "DATE", help: "first day or time away", required: true),
                    OptionSpec(
                        long: "to", value: "DATE", help: "last day away (a date includes the whole day)", required: true
                    ),
                    OptionSpec(long: "reason", value: "TEXT", help: "leave, sickness, training..."),
                ],
                examples: ["duty absence add w-100 --from 2024-09-16 --to 2024-09-20 --reason \"annual leave\""],
                run: { inv throws(DutyError) in
                    let zone = try inv.loadConfig(required: true)!.timeZone
                    let now = inv.console.now()
                    let from = try TimeArgument.parse(inv.value("from")!, now: now, timeZone: zone)
                    var to = try TimeArgument.parse(inv.value("to")!, now: now, timeZone: zone)
                    // A day (a date, tomorrow, +1w) means the whole of that day, however it was written.
                    if TimeArgument.namesADay(inv.value("to")!) {
                        to = TimeArgument.startOfDay(to, zone).addingTimeInterval(86_400)
                    }
                    return try send(
                        inv,
                        ControlRequest(
                            op: .absenceAdd, worker: inv.positionals[0], reason: inv.value("reason"),
                            from: ISOTime.format(from),
                            to: ISOTime.format(to)))
                }),
            CommandSpec(
                name: "end", summary: "end an absence now",
                positionals: [PositionalSpec(name: "ID", help: "the absence id (see duty absence list)")],
                examples: ["duty absence end ABS-42"],
                run: { inv throws(DutyError) in
                    try send(inv, ControlRequest(op: .absenceEnd, absence: inv.positionals[0]))
                }),
            CommandSpec(
                name: "list", summary: "absences current and to come",
                options: [OptionSpec(long: "format", value: "FORMAT", help: "table, json or csv")],
                examples: ["duty absence list"],
                run: { inv throws(DutyError) in try listAbsences(inv) }),
        ])

    static let cycle = CommandSpec(
        name: "cycle", summary: "run a cycle now (managers, root, dutyd's user)", examples: ["duty cycle"],
        run: { inv throws(DutyError) in try send(inv, ControlRequest(op: .cycle)) })

    static let reload = CommandSpec(
        name: "reload", summary: "re-read config, roster and policies (all valid or none applied)",
        examples: ["duty reload"],
        run: { inv throws(DutyError) in try send(inv, ControlRequest(op: .reload)) })

    static func send(_ inv: Invocation, _ request: ControlRequest) throws(DutyError) -> Int32 {
        let config = try inv.loadConfig(required: true)!
        // DUTY_CONTROL_TIMEOUT (seconds, default 60): how long to wait for dutyd's answer.
        let timeout = inv.console.environment["DUTY_CONTROL_TIMEOUT"].flatMap(Double.init).map { max(1, $0) } ?? 60
        // Every write carries an id dutyd remembers: a retry with DUTY_REQUEST_ID set to it is answered, not done
        // again.
        var request = request
        if request.op != .status {
            request.requestID = inv.console.environment["DUTY_REQUEST_ID"] ?? UUID().uuidString.lowercased()
        }
        let response: ControlResponse
        do {
            response = try ControlClient.send(request, socketPath: config.socketPath, timeout: timeout)
        } catch let error where error.code == .unavailable && error.message.contains("may") {
            var error = error
            error.message +=
                "; to retry without it happening twice, run the same command with DUTY_REQUEST_ID=\(request.requestID ?? "")"
            throw error
        }
        if var error = response.error {
            error.cause = "dutyd"
            throw error
        }
        inv.console.out(response.message)
        return 0
    }

    static func listAbsences(_ inv: Invocation) throws(DutyError) -> Int32 {
        let format = try inv.format(["table", "json", "csv"])
        let config = try inv.loadConfig(required: true)!
        let store = try Store(path: config.databasePath, readOnly: true)
        let rows: [AbsenceRow]
        do {
            rows = try store.absences(endingAfter: inv.console.now())
        } catch {
            throw DutyError(.failure, "cannot read absences", cause: "\(error)")
        }
        // Names from the roster beside ids (when it loads: a list of absences does not need it).
        let names = (try? Roster.load(path: config.rosterPath).0.workerByID.mapValues(\.name)) ?? [:]
        func named(_ id: String?) -> String {
            guard let id else { return "" }
            return names[id].map { "\(id) (\($0))" } ?? id
        }
        var table = TextTable(["ID", "WORKER", "FROM", "TO", "REASON", "BY"])
        var writer = Render.RecordWriter(format: format, console: inv.console)
        for r in rows {
            let fields: [(String, JSONValue)] = [
                ("id", .string(r.absence.id)), ("worker", .string(r.absence.worker)),
                ("worker_name", .string(names[r.absence.worker])), ("from", .time(r.absence.from)),
                ("to", .time(r.absence.to)), ("reason", .string(r.absence.reason)), ("by", .string(r.by)),
                ("by_name", .string(r.by.flatMap { names[$0] })),
            ]
            switch format {
            case "json", "csv": writer.write(fields)
            default:
                table.add([
                    r.absence.id, named(r.absence.worker), Render.localTime(r.absence.from, config.timeZone),
                    Render.localTime(r.absence.to, config.timeZone),
                    r.absence.reason ?? "", named(r.by),
                ])
            }
        }
        writer.finish(keys: ["id", "worker", "worker_name", "from", "to", "reason", "by", "by_name"])
        if format == "table" {
            for line in table.render(width: inv.console.width) { inv.console.out(line) }
        }
        return 0
    }
}

/// RFC 4180 output.
/// CSV output: RFC 4180 quoting, and text a spreadsheet would run as a formula neutralised.
enum CSV {
    /// `field` as one CSV cell. Text (`text`, the default; not numbers) beginning `=`, `+`, `-`, `@`, tab or
    /// carriage return gets a leading `'`, so that Excel or LibreOffice shows it instead of running it (OWASP's
    /// rule for CSV injection); JSON output stays exact.
    static func escape(_ field: String, text: Bool = true) -> String {
        var field = field
        // Checked on the bytes: every cell of a 100,000-row export goes through here.
        if text, let first = field.utf8.first, "=+-@\t\r".utf8.contains(first) { field = "'" + field }
        guard field.utf8.contains(where: { $0 == 0x2C || $0 == 0x22 || $0 == 0x0A || $0 == 0x0D }) else {
            return field
        }
        var out: [UInt8] = [0x22]
        out.reserveCapacity(field.utf8.count + 8)
        for b in field.utf8 {
            out.append(b)
            if b == 0x22 { out.append(0x22) }
        }
        out.append(0x22)
        return String(decoding: out, as: UTF8.self)
    }
}
