import DutyCore
import Foundation
import Testing

/// The report in a real browser: headless Chromium (Debian's `chromium`, which `.ci/run` installs) loads it with
/// no console messages, draws every chart with data, and makes the PNG of the first page the README shows. Skipped
/// with a message where Chromium is not installed.
@Suite(.serialized) struct ReportBrowserTests {
    static let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first {
        FileManager.default.isExecutableFile(atPath: $0)
    }

    @Test func theReportLoadsInChromiumWithEveryChartDrawn() throws {
        guard let chromium = Self.chromium else {
            print("skipped: no chromium to load the report in (apt-get install chromium)")
            return
        }
        let (d, html) = try ReportTests.fixture()
        let flags = [
            "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--user-data-dir=\(d.dir)/chromium",
        ]
        let dom = try run(
            chromium, flags + ["--enable-logging=stderr", "--v=0", "--dump-dom", "file://\(html)"], absolute: true)
        #expect(dom.code == 0, "\(dom.err)")
        // No console messages: nothing failed to load, no script error (there are no scripts).
        #expect(!dom.err.contains("CONSOLE("), "\(dom.err)")
        let charts = dom.out.components(separatedBy: "<svg").dropFirst()
        #expect(charts.count == 6)
        for chart in charts {
            let counts = chart.components(separatedBy: "data-points=\"").dropFirst().compactMap {
                Int($0.prefix { $0.isNumber })
            }
            #expect(!counts.isEmpty && counts.allSatisfy { $0 > 0 }, "a chart without data")
        }
        #expect(!dom.out.contains("REF-") && !dom.out.contains("PERSON-"))
        // The first page as a PNG (A4 at 150 dpi): to DUTY_SCREENSHOTS when set, for the README.
        let folder = ProcessInfo.processInfo.environment["DUTY_SCREENSHOTS"] ?? d.dir
        let png = folder + "/report-first-page.png"
        let shot = try run(
            chromium,
            flags + ["--hide-scrollbars", "--window-size=1240,1754", "--screenshot=\(png)", "file://\(html)"],
            absolute: true)
        #expect(shot.code == 0, "\(shot.err)")
        let size = (try? FileManager.default.attributesOfItem(atPath: png)[.size] as? Int) ?? 0
        #expect(size > 20_000, "the screenshot is \(size) bytes")
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
        guard let chromium = Self.chromium else {
            print("skipped: no chromium to load the simulator's report in")
            return
        }
        let flags = [
            "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--user-data-dir=\(d.dir)/chromium",
        ]
        let dom = try run(
            chromium, flags + ["--enable-logging=stderr", "--v=0", "--dump-dom", "file://\(html)"], absolute: true)
        #expect(dom.code == 0 && !dom.err.contains("CONSOLE("), "\(dom.err)")
        #expect(!dom.out.contains(#"data-points="0""#))
        let folder = ProcessInfo.processInfo.environment["DUTY_SCREENSHOTS"] ?? d.dir
        let shot = try run(
            chromium,
            flags + [
                "--hide-scrollbars", "--window-size=1240,1754", "--screenshot=\(folder)/simulate-first-page.png",
                "file://\(html)",
            ],
            absolute: true)
        #expect(shot.code == 0, "\(shot.err)")
    }
}
