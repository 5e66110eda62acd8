/// Names (kinds, teams, levels) and their positions. With a few names, a lookup compares lengths first and then at
/// most a name or two: cheaper than hashing the name, and the engine looks one up for every referral in every
/// cycle. With more names (a region's fifty teams of similar ids) it hashes. Equality is String's (canonical
/// equivalence): a name spelt with other code points, and so another byte length, is still found.
public struct NameTable: Sendable {
    public private(set) var names: [String] = []
    private var lengths: [Int] = []
    /// Past `scanLimit` names, positions by name.
    private var hashed: [String: Int]? = nil
    private static let scanLimit = 12

    public init(_ names: [String] = []) {
        for name in names { append(name) }
    }

    /// The position of `name`, or nil.
    public func position(of name: String) -> Int? {
        if let hashed { return hashed[name] }
        let length = name.utf8.count
        for i in lengths.indices where lengths[i] == length && names[i] == name { return i }
        return names.firstIndex(of: name)
    }

    /// Adds a name not already there and returns its position.
    @discardableResult public mutating func append(_ name: String) -> Int {
        names.append(name)
        lengths.append(name.utf8.count)
        if hashed != nil {
            hashed![name] = names.count - 1
        } else if names.count > Self.scanLimit {
            hashed = Dictionary(names.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        }
        return names.count - 1
    }
}
