// libFuzzer target: the rule language. Every input is compiled for each scope; what compiles is evaluated
// against a referral with facts of every type and a worker, so the evaluator's dynamic paths run too.
// Built by Tests/Fuzz/run, not by SwiftPM.
import DutyCore
import DutyPolicy
import Foundation

private let now = Date(timeIntervalSince1970: 1_790_000_000)
private let context: RuleContext = {
    let referral = Referral(
        id: "R-1", person: "P-1", kind: "safeguarding", team: "T1", received: now.addingTimeInterval(-90_000),
        flags: ["lives_alone", "carer_breakdown"],
        facts: ["age": .number(87), "risk": .string("high"), "fall": .bool(true)], complexity: 4,
        skills: ["bsl"])
    let worker = Worker(
        id: "W-1", name: "Worker 1", team: "T1", role: "social_worker", skills: ["bsl"], capacity: 20,
        experience: 3, asye: true)
    return RuleContext(referral: referral, now: now, worker: WorkerView(worker: worker, load: 12.5))
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRules(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let source = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    for scope in [RuleScope.appliesTo, .triage, .allocation] {
        if let condition = try? Condition(source, scope: scope) {
            _ = condition.evaluate(context)
        }
    }
    return 0
}
