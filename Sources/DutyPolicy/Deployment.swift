import DutyCore

/// Configuration, roster and policies loaded and checked together: what `dutyd --check` and
/// `duty policy check` validate, and what the daemon runs on.
public struct Deployment: Sendable {
    public var config: DutyConfig?
    public var roster: Roster?
    public var policies: PolicySet?
    /// Every diagnostic from every file, errors and warnings.
    public var diagnostics: [Diagnostic]

    public var isValid: Bool { !diagnostics.hasErrors && policies != nil }

    /// Loads the roster (optional) and the policies folder, collecting every diagnostic instead of stopping
    /// at the first.
    public static func load(config: DutyConfig?, policiesDir: String, rosterPath: String?) -> Deployment {
        var diagnostics: [Diagnostic] = []
        var roster: Roster?
        if let rosterPath {
            do {
                let text = try SourceFile.read(rosterPath, what: "roster")
                let (r, d) = Roster.parse(text, file: rosterPath)
                diagnostics += d
                if !d.hasErrors { roster = r }
            } catch {
                diagnostics.append(Diagnostic(file: rosterPath, position: nil, message: error.message))
            }
        }
        var (policies, d) = PolicySet.load(directory: policiesDir, roster: roster)
        if let zone = config?.timeZone { policies?.timeZone = zone }
        diagnostics += d
        return Deployment(config: config, roster: roster, policies: policies, diagnostics: diagnostics)
    }
}
