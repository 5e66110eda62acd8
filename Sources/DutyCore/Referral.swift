import Foundation

/// A fact about a referral, as the case system sent it. ISO dates arrive as strings and compare as strings.
public enum FactValue: Sendable, Hashable, CustomStringConvertible {
    case string(String)
    case number(Double)
    case bool(Bool)

    public var description: String {
        switch self {
        case .string(let s): s
        case .number(let n): n == n.rounded() && abs(n) < 1e15 ? String(Int64(n)) : String(n)
        case .bool(let b): b ? "true" : "false"
        }
    }
}

/// How a policy uses a fact: compared with numbers, used as true/false, or compared with strings. A fact that
/// arrives as something else is an intake error for its record (it would otherwise make the rule silently false).
public enum FactType: String, Sendable, Hashable {
    /// `date`: an ISO 8601 date or date-time in a string, read against `now` (`facts.expires - now <= 28d`).
    case number, bool, string, date

    /// Whether `value` has this type.
    public func admits(_ value: FactValue) -> Bool {
        switch (self, value) {
        case (.number, .number), (.bool, .bool), (.string, .string): true
        case (.date, .string(let s)): ISOTime.parse(s, timeZone: .utc) != nil
        default: false
        }
    }
}

/// A piece of work waiting to be allocated: a safeguarding concern, a DoLS application, an assessment...
public struct Referral: Sendable, Hashable, Identifiable {
    public enum Status: String, Sendable { case open, closed }

    /// The case system's key.
    public var id: String
    /// Pseudonymous reference to the person; never a name.
    public var person: String
    public var kind: String
    /// The handling team; nil until resolved from the roster (the team that handles `kind`).
    public var team: String?
    public var received: Date
    public var flags: [String]
    public var facts: [String: FactValue]
    /// 1 (simple) to 5 (most complex).
    public var complexity: Int
    /// Skills a worker must hold.
    public var skills: [String]
    public var status: Status

    public init(
        id: String, person: String, kind: String, team: String? = nil, received: Date, flags: [String] = [],
        facts: [String: FactValue] = [:], complexity: Int = 3, skills: [String] = [], status: Status = .open
    ) {
        self.id = id
        self.person = person
        self.kind = kind
        self.team = team
        self.received = received
        self.flags = flags
        self.facts = facts
        self.complexity = complexity
        self.skills = skills
        self.status = status
    }
}

/// One problem with one field of an incoming referral record.
public struct FieldError: Sendable, Hashable, CustomStringConvertible {
    public var field: String
    public var message: String
    public var position: SourcePosition?

    public init(field: String, message: String, position: SourcePosition? = nil) {
        self.field = field
        self.message = message
        self.position = position
    }

    public var description: String { "\(field): \(message)" }
}

/// A decoded record: a referral, or every problem found with it.
public enum RecordResult: Sendable {
    case valid(Referral)
    case invalid([FieldError])
}

/// Turns incoming records into `Referral`s, checking every field (SPEC "Referrals: the intake spool").
public struct ReferralDecoder: Sendable {
    public var timeZone: TimeZone
    /// When set, `kind` must be one of these.
    public var knownKinds: Set<String>?
    /// When set, `team` must be one of these.
    public var knownTeams: Set<String>?
    /// By kind: the flags its policies know (the rules' flags and the policy's declared informational ones). A
    /// kind listed here refuses any other flag; a kind not listed takes any well-formed flag.
    public var flagVocabulary: [String: Set<String>] = [:]
    /// By kind: how its policies use each fact (the allocation policy's facts under every kind).
    public var factTypes: [String: [String: FactType]] = [:]
    /// When set, `received` must fall within these instants (see `receivedBounds(now:)`).
    public var receivedRange: ClosedRange<Date>?

    /// The earliest `received` accepted: 1990-01-01 (before any case system now in use; a year such as 0001 or
    /// 1024 is a typing or export error).
    public static let earliestReceived = Date(timeIntervalSince1970: 631_152_000)
    /// How far past `now` a `received` may be: one day, for clocks that differ between systems and zones.
    public static let futureTolerance: TimeInterval = 86_400

    /// `earliestReceived ... now + futureTolerance`.
    public static func receivedBounds(now: Date) -> ClosedRange<Date> {
        earliestReceived...max(earliestReceived, now.addingTimeInterval(futureTolerance))
    }

    public static let fields = [
        "id", "person", "kind", "team", "received", "flags", "facts", "complexity", "skills", "status",
    ]

    public init(timeZone: TimeZone, knownKinds: Set<String>? = nil, knownTeams: Set<String>? = nil) {
        self.timeZone = timeZone
        self.knownKinds = knownKinds
        self.knownTeams = knownTeams
    }

    /// Decodes one JSON object; every bad field is reported, not just the first.
    public func decode(_ node: JSONNode) -> RecordResult {
        guard case .object(let members) = node.value else {
            return .invalid([
                FieldError(
                    field: "", message: "a referral must be an object, not \(node.typeName)", position: node.position)
            ])
        }
        var errors: [FieldError] = []
        var seen: [String: JSONNode] = [:]
        for m in members {
            if seen[m.key] != nil {
                errors.append(FieldError(field: m.key, message: "appears twice", position: m.keyPosition))
            } else if !Self.fields.contains(m.key) {
                var message = "unknown field"
                if let guess = closestMatch(m.key, in: Self.fields) { message += "; did you mean '\(guess)'?" }
                errors.append(FieldError(field: m.key, message: message, position: m.keyPosition))
            }
            seen[m.key] = m.value
        }
        func str(_ key: String) -> String? {
            guard let n = seen[key] else { return nil }
            if case .string(let s) = n.value { return s }
            if case .null = n.value { return nil }
            errors.append(FieldError(field: key, message: "must be a string, not \(n.typeName)", position: n.position))
            return nil
        }
        func list(_ key: String) -> [String] {
            guard let n = seen[key] else { return [] }
            if case .null = n.value { return [] }
            guard case .array(let items) = n.value else {
                errors.append(
                    FieldError(
                        field: key, message: "must be a list of strings, not \(n.typeName)", position: n.position))
                return []
            }
            var out: [String] = []
            for item in items {
                if case .string(let s) = item.value {
                    out.append(s)
                } else {
                    errors.append(
                        FieldError(
                            field: key, message: "must hold only strings, not \(item.typeName)", position: item.position
                        ))
                }
            }
            return out
        }
        var fields = RawFields(
            id: str("id"), person: str("person"), kind: str("kind"), team: str("team"), received: str("received"),
            flags: list("flags"), skills: list("skills"), status: str("status"))
        if let n = seen["complexity"] {
            switch n.value {
            case .number(_, let i?): fields.complexity = i
            case .null: break
            default:
                errors.append(
                    FieldError(field: "complexity", message: "must be a whole number from 1 to 5", position: n.position)
                )
                fields.complexityInvalid = true
            }
        }
        if let n = seen["facts"] {
            switch n.value {
            case .null: break
            case .object(let factMembers):
                var factKeys = Set<String>()
                for m in factMembers {
                    guard factKeys.insert(m.key).inserted else {
                        errors.append(
                            FieldError(field: "facts.\(m.key)", message: "appears twice", position: m.keyPosition))
                        continue
                    }
                    switch m.value.value {
                    case .string(let s): fields.facts.append((m.key, .string(s), m.keyPosition))
                    case .bool(let b): fields.facts.append((m.key, .bool(b), m.keyPosition))
                    case .number(let d, let i?) where Int64(exactly: d) != i:
                        // A whole number beyond 2^53 is not held exactly by a double (nor compared, nor logged so):
                        // refuse it rather than round it.
                        errors.append(
                            FieldError(
                                field: "facts.\(m.key)",
                                message:
                                    "\(i) is too large to hold exactly (whole numbers up to 2^53 = 9007199254740992): send it as a string",
                                position: m.value.position))
                    case .number(let d, _) where d.isFinite: fields.facts.append((m.key, .number(d), m.keyPosition))
                    default:
                        errors.append(
                            FieldError(
                                field: "facts.\(m.key)",
                                message: "must be a string, number, boolean or ISO date, not \(m.value.typeName)",
                                position: m.value.position))
                    }
                }
            default:
                errors.append(
                    FieldError(field: "facts", message: "must be an object, not \(n.typeName)", position: n.position))
            }
        }
        return validate(fields, errors: errors, positions: seen.mapValues(\.position))
    }

    /// The fields of a record before validation, from any format (JSON, CSV).
    public struct RawFields: Sendable {
        public var id: String?
        public var person: String?
        public var kind: String?
        public var team: String?
        public var received: String?
        public var flags: [String] = []
        public var facts: [(String, FactValue, SourcePosition?)] = []
        public var complexity: Int64?
        public var complexityInvalid = false
        public var skills: [String] = []
        public var status: String?

        public init(
            id: String?, person: String?, kind: String?, team: String?, received: String?, flags: [String] = [],
            skills: [String] = [], status: String? = nil
        ) {
            self.id = id
            self.person = person
            self.kind = kind
            self.team = team
            self.received = received
            self.flags = flags
            self.skills = skills
            self.status = status
        }
    }

    /// Checks raw fields against SPEC's rules and builds the referral.
    public func validate(
        _ f: RawFields, errors initial: [FieldError] = [], positions: [String: SourcePosition] = [:]
    ) -> RecordResult {
        var errors = initial
        func fail(_ field: String, _ message: String) {
            errors.append(FieldError(field: field, message: message, position: positions[field]))
        }
        if let id = f.id {
            if !Self.isValidID(id) { fail("id", "must be 1-64 characters of A-Z a-z 0-9 . _ : / -") }
        } else if !errors.contains(where: { $0.field == "id" }) {
            fail("id", "is required")
        }
        if let person = f.person {
            if person.isEmpty || person.count > 64 { fail("person", "must be 1-64 characters") }
        } else if !errors.contains(where: { $0.field == "person" }) {
            fail("person", "is required")
        }
        if let kind = f.kind {
            if let known = knownKinds, !known.contains(kind) {
                var message = "unknown kind '\(kind)': no team handles it"
                if let guess = closestMatch(kind, in: known.sorted()) { message += "; did you mean '\(guess)'?" }
                fail("kind", message)
            }
        } else if !errors.contains(where: { $0.field == "kind" }) {
            fail("kind", "is required")
        }
        if let team = f.team, let known = knownTeams, !known.contains(team) {
            var message = "unknown team '\(team)'"
            if let guess = closestMatch(team, in: known.sorted()) { message += "; did you mean '\(guess)'?" }
            fail("team", message)
        }
        var received: Date?
        if let text = f.received {
            received = ISOTime.parse(text, timeZone: timeZone)
            if received == nil {
                fail(
                    "received",
                    "'\(Self.excerpt(text))' is not an ISO 8601 date or date-time (2024-09-10 or 2024-09-10T09:30:00Z)")
            } else if let range = receivedRange, let r = received, !range.contains(r) {
                fail(
                    "received",
                    r < range.lowerBound
                        ? "'\(Self.excerpt(text))' is before 1990-01-01: check the date"
                        : "'\(Self.excerpt(text))' is more than a day in the future: check the date and the sender's clock"
                )
                received = nil
            }
        } else if !errors.contains(where: { $0.field == "received" }) {
            fail("received", "is required")
        }
        let vocabulary = f.kind.flatMap { flagVocabulary[$0] }
        for flag in f.flags {
            if !Self.isValidFlag(flag) {
                fail("flags", "'\(Self.excerpt(flag))' must be lower-case letters, digits and _")
            } else if let vocabulary, !vocabulary.contains(flag) {
                var message = "unknown flag '\(flag)': no rule for \(f.kind ?? "this kind") reads it"
                if let guess = closestMatch(flag, in: vocabulary.sorted()) { message += "; did you mean '\(guess)'?" }
                fail("flags", message + " (a flag that is only informational can be declared in the policy's 'flags')")
            }
        }
        if let person = f.person, Self.hasControlCharacter(person) {
            fail("person", "must not contain control characters")
        }
        for skill in f.skills {
            if skill.isEmpty || skill.count > 64 {
                fail("skills", "each skill must be 1-64 characters")
            } else if Self.hasControlCharacter(skill) {
                fail("skills", "a skill must not contain control characters")
            }
        }
        var facts: [String: FactValue] = [:]
        for (name, value, position) in f.facts {
            if !Self.isValidFactName(name) {
                errors.append(
                    FieldError(
                        field: "facts.\(name)",
                        message: "fact names must be letters, digits and _, starting with a letter", position: position)
                )
            } else if case .string(let s) = value, s.utf8.contains(0) {
                errors.append(
                    FieldError(field: "facts.\(name)", message: "must not contain a NUL character", position: position))

            } else if let type = f.kind.flatMap({ factTypes[$0]?[name] }), !type.admits(value) {
                errors.append(
                    FieldError(
                        field: "facts.\(name)",
                        message:
                            type == .date
                            ? "the policies use it as a date: write YYYY-MM-DD or an ISO 8601 date-time, not \(Self.describe(value))"
                            : "the policies use it as \(type == .bool ? "true or false" : "a \(type.rawValue)"), not \(Self.describe(value))",
                        position: position))
            } else {
                facts[name] = value
            }
        }
        var complexity = 3
        if let c = f.complexity {
            if (1...5).contains(c) {
                complexity = Int(c)
            } else {
                fail("complexity", "must be a whole number from 1 to 5, not \(c)")
            }
        }
        var status = Referral.Status.open
        if let s = f.status {
            if let st = Referral.Status(rawValue: s) {
                status = st
            } else {
                fail("status", "must be 'open' or 'closed', not '\(s)'")
            }
        }
        guard errors.isEmpty, let id = f.id, let person = f.person, let kind = f.kind, let received else {
            return .invalid(errors)
        }
        return .valid(
            Referral(
                id: id, person: person, kind: kind, team: f.team, received: received, flags: f.flags, facts: facts,
                complexity: complexity, skills: f.skills, status: status))
    }

    /// A field's value as quoted in a message: at most 40 characters, control characters escaped, so that a
    /// message never carries a file's contents (or a forged line) beyond the offending field.
    public static func excerpt(_ s: String) -> String {
        let short = s.count > 40 ? String(s.prefix(40)) + "..." : s
        return escapingControlCharacters(short)
    }

    /// `s` with every control character (C0, DEL, C1) written as `\u{XX}`, so it prints as one line and cannot move
    /// a terminal's cursor; tab too.
    public static func escapingControlCharacters(_ s: String) -> String {
        // Fast path: printable ASCII (every byte 0x20-0x7E) has nothing to escape.
        if s.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) { return s }
        guard s.unicodeScalars.contains(where: isControl) else { return s }
        var out = ""
        for u in s.unicodeScalars {
            if isControl(u) {
                out += "\\u{" + String(u.value, radix: 16) + "}"
            } else {
                out.unicodeScalars.append(u)
            }
        }
        return out
    }

    /// C0 and C1 controls, DEL, and the invisible characters that move or reorder text on a screen: line and
    /// paragraph separators (U+2028, U+2029), bidirectional marks, embeddings, overrides and isolates (U+200E,
    /// U+200F, U+202A-U+202E, U+2066-U+2069) and the byte-order mark (U+FEFF).
    static func isControl(_ u: Unicode.Scalar) -> Bool {
        switch u.value {
        case 0..<0x20, 0x7F...0x9F, 0x200E, 0x200F, 0x2028...0x202E, 0x2066...0x2069, 0xFEFF: true
        default: false
        }
    }

    /// About how many bytes a referral holds (its strings), for the record size limit.
    public static func approximateSize(_ r: Referral) -> Int {
        var n = r.id.utf8.count + r.person.utf8.count + r.kind.utf8.count + (r.team?.utf8.count ?? 0)
        n += r.flags.reduce(0) { $0 + $1.utf8.count } + r.skills.reduce(0) { $0 + $1.utf8.count }
        for (k, v) in r.facts {
            n += k.utf8.count + 8
            if case .string(let s) = v { n += s.utf8.count }
        }
        return n
    }

    /// Whether `s` holds a control character other than tab.
    public static func hasControlCharacter(_ s: String) -> Bool {
        s.unicodeScalars.contains { isControl($0) && $0 != "\t" }
    }

    static func describe(_ value: FactValue) -> String {
        switch value {
        case .string(let s): "the text '\(excerpt(s))'"
        case .number(let n): "the number \(FactValue.number(n))"
        case .bool(let b): "\(b)"
        }
    }

    public static func isValidID(_ s: String) -> Bool {
        let u = s.utf8
        guard !u.isEmpty, u.count <= 64 else { return false }
        return u.allSatisfy { b in
            (b >= 48 && b <= 57) || (b >= 65 && b <= 90) || (b >= 97 && b <= 122) || b == 46 || b == 95 || b == 58
                || b == 47 || b == 45
        }
    }

    public static func isValidFlag(_ s: String) -> Bool {
        !s.isEmpty && s.utf8.allSatisfy { b in (b >= 48 && b <= 57) || (b >= 97 && b <= 122) || b == 95 }
    }

    public static func isValidFactName(_ s: String) -> Bool {
        guard let first = s.utf8.first, (first >= 65 && first <= 90) || (first >= 97 && first <= 122) else {
            return false
        }
        return s.utf8.count <= 64
            && s.utf8.allSatisfy { b in
                (b >= 48 && b <= 57) || (b >= 65 && b <= 90) || (b >= 97 && b <= 122) || b == 95
            }
    }
}
