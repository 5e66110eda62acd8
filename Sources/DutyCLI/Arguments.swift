import DutyCore

/// An option a command accepts: `--name VALUE`, `--name=VALUE` or a flag.
struct OptionSpec: Sendable {
    var long: String
    var short: Character? = nil
    /// The value's placeholder (`DIR`); nil for a flag.
    var value: String? = nil
    var help: String
    var required = false

    var usage: String {
        let v = value.map { " \($0)" } ?? ""
        return required ? "--\(long)\(v)" : "[--\(long)\(v)]"
    }

    var label: String {
        let v = value.map { " \($0)" } ?? ""
        if let short { return "-\(short), --\(long)\(v)" }
        return "--\(long)\(v)"
    }
}

struct PositionalSpec: Sendable {
    var name: String
    var help: String
    var optional = false
}

/// A command or a group of subcommands, with everything its help and parser need.
struct CommandSpec: Sendable {
    var name: String
    var summary: String
    var positionals: [PositionalSpec] = []
    var options: [OptionSpec] = []
    var discussion: String? = nil
    var examples: [String] = []
    var subcommands: [CommandSpec] = []
    var run: (@Sendable (Invocation) throws(DutyError) -> Int32)? = nil
}

/// A parsed command line for one command.
struct Invocation: Sendable {
    var path: [String]
    var positionals: [String]
    var values: [String: String]
    var flags: Set<String>
    var configPath: String?
    var console: Console

    func value(_ long: String) -> String? { values[long] }
    func flag(_ long: String) -> Bool { flags.contains(long) }
}

/// Options every command accepts.
let globalOptions: [OptionSpec] = [
    OptionSpec(long: "config", value: "PATH", help: "config file (default: $DUTY_CONFIG, else /etc/duty/dutyd.conf)"),
    OptionSpec(long: "help", short: "h", help: "show help"),
]

/// Hand-written argument parsing in swift-argument-parser's conventions: `--opt v` and `--opt=v`, `-h` and
/// `--help` everywhere, `--` ends options, "did you mean" for near misses, every check before any side effect.
enum ArgumentParser {
    enum Outcome {
        case run(CommandSpec, Invocation)
        case help([String])
        case version
    }

    static func parse(_ args: [String], root: CommandSpec, console: Console) throws(DutyError) -> Outcome {
        var path: [String] = []
        var spec = root
        var rest = args[...]
        var configPath: String?
        var values: [String: String] = [:]
        var flags = Set<String>()
        var positionals: [String] = []
        var optionsEnded = false
        var wantsHelp = false

        func usageError(_ message: String) -> DutyError {
            DutyError(.usage, message, cause: path.joined(separator: " "))
        }

        while let arg = rest.popFirst() {
            if !optionsEnded && arg == "--" {
                optionsEnded = true
                continue
            }
            if !optionsEnded && arg.hasPrefix("-") && arg != "-" {
                if arg == "-h" || arg == "--help" {
                    wantsHelp = true
                    continue
                }
                if arg == "--version" && path.isEmpty { return .version }
                var name: String
                var inline: String?
                if arg.hasPrefix("--") {
                    let body = arg.dropFirst(2)
                    if let eq = body.firstIndex(of: "=") {
                        name = String(body[..<eq])
                        inline = String(body[body.index(after: eq)...])
                    } else {
                        name = String(body)
                    }
                } else {
                    let short = arg.dropFirst()
                    guard short.count == 1,
                        let o = (spec.options + globalOptions).first(where: { $0.short == short.first })
                    else {
                        if Double(arg) != nil {  // a negative number or relative time as a positional
                            positionals.append(arg)
                            continue
                        }
                        throw usageError("unknown option '\(arg)'")
                    }
                    name = o.long
                }
                let known = spec.options + globalOptions
                guard let option = known.first(where: { $0.long == name }) else {
                    var message = "unknown option '--\(name)'"
                    if let guess = closestMatch(name, in: known.map(\.long)) {
                        message += "; did you mean '--\(guess)'?"
                    }
                    throw usageError(message)
                }
                if option.value == nil {
                    if inline != nil { throw usageError("option '--\(name)' takes no value") }
                    flags.insert(name)
                    continue
                }
                var value: String
                if let inline {
                    value = inline
                } else if let next = rest.popFirst() {
                    value = next
                } else {
                    throw usageError("option '--\(name)' needs a value (\(option.value!))")
                }
                if name == "config" {
                    configPath = value
                } else {
                    if values[name] != nil { throw usageError("option '--\(name)' given twice") }
                    values[name] = value
                }
                continue
            }
            // A word: a subcommand while we are at a group, else a positional.
            if positionals.isEmpty && !spec.subcommands.isEmpty && !optionsEnded {
                guard let sub = spec.subcommands.first(where: { $0.name == arg }) else {
                    var message =
                        path.isEmpty
                        ? "unknown command '\(arg)'"
                        : "unknown subcommand '\(arg)' for '\(path.joined(separator: " "))'"
                    if let guess = closestMatch(arg, in: spec.subcommands.map(\.name)) {
                        message += "; did you mean '\((path + [guess]).joined(separator: " "))'?"
                    }
                    throw usageError(message)
                }
                path.append(arg)
                spec = sub
                continue
            }
            positionals.append(arg)
        }
        if wantsHelp { return .help(path) }
        if path == ["help"] { return .help(positionals) }
        guard spec.run != nil else {
            if path.isEmpty { throw usageError("missing command") }
            throw usageError("missing subcommand for '\(path.joined(separator: " "))'")
        }
        let required = spec.positionals.filter { !$0.optional }.count
        if positionals.count < required {
            let missing = spec.positionals[positionals.count]
            throw usageError("missing argument \(missing.name)")
        }
        if positionals.count > spec.positionals.count {
            throw usageError("unexpected argument '\(positionals[spec.positionals.count])'")
        }
        for o in spec.options where o.required && values[o.long] == nil && !flags.contains(o.long) {
            throw usageError("missing option --\(o.long)\(o.value.map { " \($0)" } ?? "")")
        }
        let invocation = Invocation(
            path: path, positionals: positionals, values: values, flags: flags, configPath: configPath,
            console: console)
        return .run(spec, invocation)
    }
}
