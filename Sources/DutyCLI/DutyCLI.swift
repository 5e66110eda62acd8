import DutyCore
import DutyPolicy
import Foundation

/// The `duty` command: parse, run, and turn every error into a message and an exit code.
public enum DutyCLI {
    static let root = CommandSpec(
        name: "duty",
        summary: "risk-prioritised work allocation for adult social care teams",
        subcommands: [
            CommandSpec(
                name: "policy", summary: "check and explain prioritisation policies",
                subcommands: [PolicyCommands.check, PolicyCommands.explain, PolicyDiff.command]),
            Simulate.command, ReadCommands.status, ReadCommands.waiting, ReadCommands.show, ReadCommands.why,
            ReadCommands.log,
            ReadCommands.stats, ReadCommands.capacity, ReadCommands.caseload, ReadCommands.inbox, ReadCommands.verify,
            Report.command,
            ReadCommands.export,
            WriteCommands.assign, WriteCommands.unassign, WriteCommands.rerate, WriteCommands.ack,
            WriteCommands.reviewed,
            WriteCommands.absence, WriteCommands.cycle, WriteCommands.reload,
            CommandSpec(
                name: "help", summary: "help for a command (duty help policy explain)",
                positionals: [PositionalSpec(name: "COMMAND", help: "the command", optional: true)],
                run: { _ throws(DutyError) in 0 }),
        ])

    /// Runs `duty` with `arguments` (without the program name) and returns the exit code.
    public static func main(_ arguments: [String], console: Console) -> Int32 {
        do throws(DutyError) {
            switch try ArgumentParser.parse(arguments, root: root, console: console) {
            case .version:
                console.out("duty \(DutyVersion.string)")
                return 0
            case .help(let path):
                guard let spec = Help.find(path, in: root) else {
                    throw DutyError(.usage, "no such command '\(path.joined(separator: " "))'", cause: "help")
                }
                console.out(Help.text(spec, path: path))
                return 0
            case .run(let spec, let invocation):
                return try spec.run!(invocation)
            }
        } catch {
            report(error, console: console)
            return error.code.exitCode
        }
    }

    static func report(_ error: DutyError, console: Console) {
        for d in error.diagnostics.sortedForDisplay() { console.err(d.description) }
        console.err("duty: \(error.message)")
        // Usage errors print usage; a request dutyd refused (cause "dutyd") is not one, whatever its code.
        if error.code == .usage && error.cause != "dutyd" {
            let path = (error.cause ?? "").split(separator: " ").map(String.init)
            let spec = Help.find(path, in: root) ?? root
            console.err(Help.usage(spec, path: Help.find(path, in: root) == nil ? [] : path))
            console.err("See 'duty help\(path.isEmpty ? "" : " " + path.joined(separator: " "))'.")
        }
    }
}

extension Invocation {
    /// The config: `--config`, else `$DUTY_CONFIG`, else the default path. When `required` is false and no
    /// config was named and the default does not exist, nil.
    func loadConfig(required: Bool) throws(DutyError) -> DutyConfig? {
        let named = configPath ?? console.environment["DUTY_CONFIG"].flatMap { $0.isEmpty ? nil : $0 }
        let path = DutyConfig.locate(explicit: named, environment: [:])
        if named == nil && !required && !FileManager.default.fileExists(atPath: path) { return nil }
        if named == nil && !FileManager.default.fileExists(atPath: path) {
            // Nothing named and no installed config: say how to name one.
            let demo = FileManager.default.currentDirectoryPath + "/duty-demo/dutyd.conf"
            throw DutyError(
                .notFound,
                "no config at \(path) (dutyd is not installed here?): name one with --config PATH or DUTY_CONFIG"
                    + (FileManager.default.fileExists(atPath: demo) ? " (the demo's is --config \(demo))" : ""))
        }
        return try DutyConfig.load(path: path)
    }

    /// `--format`, checked against what the command supports.
    func format(_ allowed: [String]) throws(DutyError) -> String {
        let f = value("format") ?? "table"
        guard allowed.contains(f) else {
            throw DutyError(
                .usage, "invalid format '\(f)': use \(allowed.joined(separator: " or "))",
                cause: path.joined(separator: " "))
        }
        return f
    }
}
