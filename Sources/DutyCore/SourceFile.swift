import Foundation

/// Reading the text of configuration, roster and policy files (referral files are read by `SpoolReader`).
public enum SourceFile {
    public static func read(_ path: String, what: String) throws(DutyError) -> String {
        guard FileManager.default.fileExists(atPath: path) else {
            throw DutyError(.notFound, "\(what) '\(path)' not found")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw DutyError(.failure, "cannot read \(what) '\(path)': check its permissions")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw DutyError(
                .invalidData, "\(what) '\(path)' is not UTF-8 text",
                diagnostics: [Diagnostic(file: path, position: nil, message: "file is not valid UTF-8")])
        }
        return text
    }

    /// `path` resolved against `base` when relative.
    public static func resolve(_ path: String, against base: String) -> String {
        if path.hasPrefix("/") { return path }
        let url = URL(fileURLWithPath: base, isDirectory: true).appendingPathComponent(path)
        return url.standardizedFileURL.path
    }

    public static func directory(of path: String) -> String {
        URL(fileURLWithPath: path).deletingLastPathComponent().standardizedFileURL.path
    }
}
