import DutyCore
import Foundation
import Testing

@testable import DutyPolicy

/// Days are calendar days in the council's zone (RFC 5545 nominal durations): dues keep the local time across a
/// clock change; hours are exact.
@Suite struct CalendarDueTests {
    static let london = TimeZone(identifier: "Europe/London")!

    func utc(_ s: String) -> Date { ISOTime.parse(s, timeZone: .utc)! }

    /// The shipped safeguarding policy in London, rating a referral received at `received` (local time).
    func due(flags: [String], received: String) throws -> Date {
        var policies = try #require(shipped.policies)
        policies.timeZone = Self.london
        let r = Referral(
            id: "S-1", person: "P-1", kind: "safeguarding", team: "safeguarding",
            received: ISOTime.parse(received, timeZone: Self.london)!, flags: flags)
        return try #require(policies.triage(r, now: r.received)).due
    }

    @Test func autumnDuesKeepTheLocalTime() throws {
        // Amber (4 days) received on 24 Oct 2024, a bare date: midnight BST, 23:00Z. The clocks go back on the
        // 27th: due at midnight GMT on the 28th, not at 23:00Z on the 27th (an hour early).
        #expect(try due(flags: ["deteriorating"], received: "2024-10-24") == utc("2024-10-28T00:00:00Z"))
        // Red (1 day) received at 09:00 BST on the 26th: due 09:00 GMT on the 27th, not 08:00.
        #expect(try due(flags: ["risk_to_life"], received: "2024-10-26T09:00") == utc("2024-10-27T09:00:00Z"))
    }

    @Test func springDuesKeepTheLocalTime() throws {
        // The clocks go forward on 31 Mar 2024: amber received at midnight GMT on the 28th is due at midnight BST
        // on 1 Apr (23:00Z on the 31st), not an hour late.
        #expect(try due(flags: ["deteriorating"], received: "2024-03-28") == utc("2024-03-31T23:00:00Z"))
        #expect(try due(flags: ["risk_to_life"], received: "2024-03-30T09:00") == utc("2024-03-31T08:00:00Z"))
    }

    @Test func hoursAreExactAndGapsAndRepeatsAreChosenAsRFC5545Does() {
        let london = Self.london
        // 4h across the spring gap: exact, so 00:30 GMT + 4h is 05:30 BST.
        #expect(Duration.hours(4).after(utc("2024-03-31T00:30:00Z"), in: london) == utc("2024-03-31T04:30:00Z"))
        // A day after 01:30 GMT on 30 Mar is 01:30 on the 31st, which the clocks skip: moved on by the gap, to
        // 02:30 BST (01:30Z).
        #expect(Duration.days(1).after(utc("2024-03-30T01:30:00Z"), in: london) == utc("2024-03-31T01:30:00Z"))
        // A day after 01:30 BST on 26 Oct is 01:30 on the 27th, which happens twice: the first (BST, 00:30Z).
        #expect(Duration.days(1).after(utc("2024-10-26T00:30:00Z"), in: london) == utc("2024-10-27T00:30:00Z"))
        // Weeks are seven calendar days.
        #expect(Duration(1, .weeks).after(utc("2024-10-21T08:00:00Z"), in: london) == utc("2024-10-28T09:00:00Z"))
        #expect(Duration.days(4).before(utc("2024-10-28T00:00:00Z"), in: london) == utc("2024-10-23T23:00:00Z"))
    }

    @Test func aDateWhoseMidnightDoesNotExistStartsAtItsFirstInstant() throws {
        // Sao Paulo's clocks went forward at midnight on 4 Nov 2018: that date began at 01:00 (-02:00).
        let saoPaulo = try #require(TimeZone(identifier: "America/Sao_Paulo"))
        #expect(ISOTime.parse("2018-11-04", timeZone: saoPaulo) == utc("2018-11-04T03:00:00Z"))
        // A day after 00:00 on the 3rd (-03:00) is the first instant of the 4th.
        #expect(Duration.days(1).after(utc("2018-11-03T03:00:00Z"), in: saoPaulo) == utc("2018-11-04T03:00:00Z"))
    }

    @Test func wholePeriodsCountOnTheCalendar() {
        let london = Self.london
        let start = utc("2024-10-24T08:00:00Z")  // 09:00 BST
        // 09:00 GMT on the 28th is four calendar days on, though 97 hours have passed.
        #expect(Duration.days(1).periods(from: start, to: utc("2024-10-28T08:59:00Z"), in: london) == 3)
        #expect(Duration.days(1).periods(from: start, to: utc("2024-10-28T09:00:00Z"), in: london) == 4)
        #expect(Duration.days(1).hasPassed(since: start, at: utc("2024-10-25T08:00:00Z"), in: london))
    }

    @Test func waitingIsComparedOnTheCalendar() throws {
        // `waiting > 1d` is `now > received + 1d`: across the autumn change a day is 25 hours.
        let rule = try Condition("waiting >= 1d", scope: .triage)
        let r = Referral(
            id: "S-1", person: "P-1", kind: "safeguarding", received: utc("2024-10-26T08:00:00Z"))  // 09:00 BST
        #expect(!rule.evaluate(RuleContext(referral: r, now: utc("2024-10-27T08:30:00Z"), timeZone: Self.london)))
        #expect(rule.evaluate(RuleContext(referral: r, now: utc("2024-10-27T09:00:00Z"), timeZone: Self.london)))
        // In UTC a day is 24 hours.
        #expect(rule.evaluate(RuleContext(referral: r, now: utc("2024-10-27T08:30:00Z"), timeZone: .utc)))
    }
}

/// Dates in facts: compared with `now` as durations, and setting a due time.
@Suite struct DateFactTests {
    func utc(_ s: String) -> Date { ISOTime.parse(s, timeZone: .utc)! }

    func context(_ facts: [String: FactValue], now: String, received: String = "2024-09-01T09:00:00Z") -> RuleContext {
        RuleContext(
            referral: Referral(
                id: "D-1", person: "P-1", kind: "dols", received: utc(received), flags: ["renewal"], facts: facts),
            now: utc(now))
    }

    @Test func theTimeUntilADateFactIsReadAgainEachTime() throws {
        let soon = try Condition("facts.expires - now <= 28d", scope: .triage)
        let facts: [String: FactValue] = ["expires": .string("2024-10-20")]
        // Sent with 49 days left: not yet; four weeks before expiry it is; after expiry it still is.
        #expect(!soon.evaluate(context(facts, now: "2024-09-01T09:00:00Z")))
        #expect(soon.evaluate(context(facts, now: "2024-09-22T00:00:00Z")))
        #expect(soon.evaluate(context(facts, now: "2024-10-24T09:00:00Z")))
        // Missing or not a date: false, not an error at evaluation.
        #expect(!soon.evaluate(context([:], now: "2024-10-24T09:00:00Z")))
        #expect(!soon.evaluate(context(["expires": .string("soon")], now: "2024-10-24T09:00:00Z")))
        let since = try Condition("now - facts.granted > 5d", scope: .triage)
        #expect(since.evaluate(context(["granted": .string("2024-09-01T12:00:00Z")], now: "2024-09-06T12:00:01Z")))
        #expect(!since.evaluate(context(["granted": .string("2024-09-01T12:00:00Z")], now: "2024-09-06T12:00:00Z")))
        #expect(
            try Condition("facts.expires < now", scope: .triage).evaluate(context(facts, now: "2024-10-21T00:00:00Z")))
    }

    @Test func policyCheckTypesDates() {
        #expect(throws: RuleError.self) { try Condition("facts.expires - now <= 28", scope: .triage) }
        #expect(throws: RuleError.self) { try Condition("now + 3 > now", scope: .triage) }
        #expect(throws: RuleError.self) { try DueExpression("7d", scope: .triage) }
        #expect(throws: RuleError.self) { try DueExpression("facts.expires - now", scope: .triage) }
        #expect(throws: RuleError.self) { try Condition("now > 1", scope: .triage) }
        // The fact is typed as a date for intake.
        let c = try! Condition("'renewal' in flags and facts.expires - now <= 28d", scope: .triage)
        #expect(c.factUses["expires"] == .some(.date))
        #expect(try! DueExpression("facts.granted + 7d", scope: .triage).factUses["granted"] == .some(.date))
        #expect(FactType.date.admits(.string("2024-10-01")) && !FactType.date.admits(.string("next week")))
    }

    @Test func anUrgentAuthorisationIsDueSevenDaysFromItsGrant() throws {
        let policies = try #require(shipped.policies)
        // Granted on 1 Sep, sent to the council on the 5th: due on the 8th, not the 12th.
        let r = Referral(
            id: "D-1", person: "P-1", kind: "dols", team: "dols", received: utc("2024-09-05T09:00:00Z"),
            flags: ["urgent_authorisation"], facts: ["urgent_granted": .string("2024-09-01T10:00:00Z")])
        let rated = try #require(policies.triage(r, now: r.received))
        #expect(rated.level.name == "high" && rated.due == utc("2024-09-08T10:00:00Z"))
        // Without the grant date the level's 7 days from receipt apply.
        var without = r
        without.facts = [:]
        #expect(try #require(policies.triage(without, now: r.received)).due == utc("2024-09-12T09:00:00Z"))
    }

    @Test func aRenewalRisesAsItsExpiryNearsAndIsDueBeforeIt() throws {
        let policies = try #require(shipped.policies)
        // Sent with 40 days left: low. Four days after the authorisation lapsed: high, due at the expiry.
        let r = Referral(
            id: "D-2", person: "P-2", kind: "dols", team: "dols", received: utc("2024-09-01T09:00:00Z"),
            flags: ["renewal"], facts: ["authorisation_expires": .string("2024-10-11")])
        let atArrival = try #require(policies.triage(r, now: r.received))
        #expect(atArrival.level.name == "low")
        let lapsed = try #require(policies.triage(r, now: utc("2024-10-15T09:00:00Z")))
        #expect(lapsed.level.name == "high" && lapsed.rules.map(\.id) == ["DOLS-H10", "DOLS-M4"])
        // High is due 7 days from receipt (long past); the expiry is later, so the level's due stands.
        #expect(lapsed.due == utc("2024-09-08T09:00:00Z"))
        // Sent three days before expiry: due at the expiry, sooner than high's 7 days.
        var late = r
        late.received = utc("2024-10-08T09:00:00Z")
        let rated = try #require(policies.triage(late, now: late.received))
        #expect(rated.level.name == "high" && rated.due == utc("2024-10-11T00:00:00Z"))
    }
}
