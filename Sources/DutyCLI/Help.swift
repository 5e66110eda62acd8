import DutyCore

/// Help text, generated from the command specs so it cannot drift from what the parser accepts.
enum Help {
    static func find(_ path: [String], in root: CommandSpec) -> CommandSpec? {
        var spec = root
        for word in path {
            guard let sub = spec.subcommands.first(where: { $0.name == word }) else { return nil }
            spec = sub
        }
        return spec
    }

    static func usage(_ spec: CommandSpec, path: [String]) -> String {
        let name = (["duty"] + path).joined(separator: " ")
        if !spec.subcommands.isEmpty && spec.run == nil {
            return path.isEmpty
                ? "usage: duty [--config PATH] COMMAND [ARGS...]" : "usage: \(name) SUBCOMMAND [ARGS...]"
        }
        var parts = [name]
        for p in spec.positionals { parts.append(p.optional ? "[\(p.name)]" : p.name) }
        for o in spec.options { parts.append(o.usage) }
        return "usage: " + parts.joined(separator: " ")
    }

    static func text(_ spec: CommandSpec, path: [String]) -> String {
        var lines: [String] = []
        let name = (["duty"] + path).joined(separator: " ")
        lines.append("\(name): \(spec.summary)")
        lines.append("")
        lines.append(usage(spec, path: path))
        if let d = spec.discussion {
            lines.append("")
            lines.append(d)
        }
        func section(_ title: String, _ rows: [(String, String)]) {
            guard !rows.isEmpty else { return }
            lines.append("")
            lines.append("\(title):")
            let width = min(24, rows.map(\.0.count).max() ?? 0)
            for (label, help) in rows {
                if label.count > width {
                    lines.append("  \(label)")
                    lines.append("  " + String(repeating: " ", count: width + 2) + help)
                } else {
                    lines.append("  " + label + String(repeating: " ", count: width - label.count + 2) + help)
                }
            }
        }
        if !spec.subcommands.isEmpty {
            var rows: [(String, String)] = []
            func walk(_ s: CommandSpec, _ prefix: [String]) {
                for sub in s.subcommands {
                    if sub.run != nil { rows.append(((prefix + [sub.name]).joined(separator: " "), sub.summary)) }
                    walk(sub, prefix + [sub.name])
                }
            }
            walk(spec, [])
            section("commands", rows)
        }
        section("arguments", spec.positionals.map { ($0.name, $0.help) })
        let options =
            spec.run == nil && path.isEmpty
            ? globalOptions + [OptionSpec(long: "version", help: "print the version")] : spec.options + globalOptions
        section(spec.run == nil && path.isEmpty ? "global options" : "options", options.map { ($0.label, $0.help) })
        if !spec.examples.isEmpty {
            lines.append("")
            lines.append("examples:")
            for e in spec.examples { lines.append("  \(e)") }
        }
        if path.isEmpty {
            lines.append("")
            lines.append("exit codes: 0 success, 1 failure, 64 usage error, 65 invalid data, 66 not found,")
            lines.append("  69 daemon unavailable, 77 permission denied")
            lines.append("")
            lines.append("See 'duty help COMMAND' for a command's options.")
        }
        return lines.joined(separator: "\n")
    }
}
