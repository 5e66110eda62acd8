import DutyCore
import Foundation
import Testing

/// The reports in a real browser: headless Chromium (Debian's `chromium`, which `.ci/run` installs) loads each
/// with no console messages and draws every chart with data, and the same run makes the PNGs of the demo's and the
/// simulator's first pages that the README shows. Skipped with a message where Chromium is not installed.
@Suite(.serialized) struct ReportBrowserTests {
    static let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first {
        FileManager.default.isExecutableFile(atPath: $0)
    }

    /// Loads `html` in headless Chromium and checks what a reader would see: it loads, nothing is logged to the
    /// console (nothing failed to load; there are no scripts), `charts` charts (at least one when nil), each with
    /// data, and no referral or person id. Then writes the first page (A4 at 150 dpi) as the PNG `path`.
    static func load(_ html: String, in dir: String, charts: Int? = nil, screenshot path: String) throws {
        guard let chromium else { return }
        let flags = [
            "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--user-data-dir=\(dir)/chromium",
        ]
        let dom = try run(
            chromium, flags + ["--enable-logging=stderr", "--v=0", "--dump-dom", "file://\(html)"], absolute: true)
        #expect(dom.code == 0, "\(dom.err)")
        #expect(!dom.err.contains("CONSOLE("), "\(dom.err)")
        let drawn = dom.out.components(separatedBy: "<svg").dropFirst()
        if let charts { #expect(drawn.count == charts) } else { #expect(!drawn.isEmpty) }
        for chart in drawn {
            let counts = chart.components(separatedBy: "data-points=\"").dropFirst().compactMap {
                Int($0.prefix { $0.isNumber })
            }
            #expect(!counts.isEmpty && counts.allSatisfy { $0 > 0 }, "a chart without data")
        }
        // Ids of the fixtures (REF-, PERSON-) and of the demo and its generator (BACKLOG-, DEMO-, P-).
        for id in ["REF-", "PERSON-", "BACKLOG-", "DEMO-", "\"P-", ">P-"] {
            #expect(!dom.out.contains(id), "\(id) in the page")
        }
        let shot = try run(
            chromium,
            flags + ["--hide-scrollbars", "--window-size=1240,1754", "--screenshot=\(path)", "file://\(html)"],
            absolute: true)
        #expect(shot.code == 0, "\(shot.err)")
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        #expect(size > 20_000, "the screenshot is \(size) bytes")
    }

    /// Where the README's screenshots go: `DUTY_SCREENSHOTS` when set (`Tests/Screenshots` to redraw them), else
    /// the test's own folder.
    static func readme(_ png: String, else dir: String) -> String {
        (ProcessInfo.processInfo.environment["DUTY_SCREENSHOTS"] ?? dir) + "/" + png
    }

    static func skipped(_ what: String) -> Bool {
        if chromium == nil { print("skipped: no chromium to load \(what) in (apt-get install chromium)") }
        return chromium == nil
    }

    @Test func theReportLoadsInChromiumWithEveryChartDrawn() throws {
        let (d, html) = try ReportTests.fixture()
        if Self.skipped("the report") { return }
        try Self.load(html, in: d.dir, charts: 6, screenshot: d.dir + "/report-fixture.png")
    }

    /// The README's first page of the report: the demo as a newcomer starts it (`dutyd --demo`, to its first
    /// cycle), reported over the last three months (its work all arrives today).
    @Test func theDemosReportLoadsInChromium() throws {
        let (dir, _, _) = try runDemo()
        let html = dir + "/demo.html"
        let r = try run(
            "duty", ["--config", dir + "/duty-demo/dutyd.conf", "report", "--from", "-13w", "--output", html])
        #expect(r.code == 0, "\(r.err)")
        if Self.skipped("the demo's report") { return }
        try Self.load(html, in: dir, charts: 6, screenshot: Self.readme("report-demo.png", else: dir))
    }

    /// `duty simulate --report` lays out a simulated year as the report does, with a baseline beside the policy;
    /// its first page too is a PNG for the README (the shipped CQC-calibrated scenario, a quarter of a year).
    @Test func theSimulatorsReportLoadsInChromium() throws {
        let d = try Deployment()
        let html = d.dir + "/simulated.html"
        let r = try run(
            "duty",
            [
                "simulate", repositoryRoot + "/policies/scenarios/banes-cqc-2024.json5", "--days", "91", "--seed", "1",
                "--baseline", "fcfs", "--report", html,
            ])
        #expect(r.code == 0, "\(r.err)")
        let page = try String(contentsOfFile: html, encoding: .utf8)
        #expect(page.contains("Within timescale (fcfs)") && page.contains("How each figure is computed"))
        #expect(!page.contains("<script") && !page.contains(" src=") && page.components(separatedBy: "<svg").count > 4)
        if Self.skipped("the simulator's report") { return }
        try Self.load(html, in: d.dir, screenshot: Self.readme("simulate-first-page.png", else: d.dir))
    }
}
