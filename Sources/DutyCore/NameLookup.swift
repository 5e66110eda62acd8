/// A few distinct names (kinds, teams, levels) and their positions, looked up by comparing lengths first and then
/// at most a name or two: cheaper than hashing a name when there are a few dozen or fewer, and the engine looks
/// one up for every referral in every cycle. Equality is String's (canonical equivalence): a name spelt with
/// other code points, and so other byte lengths, is still found, by a full scan when no name of its length is it.
public struct NameTable: Sendable {
    public private(set) var names: [String] = []
    private var lengths: [Int] = []

    public init(_ names: [String] = []) {
        for name in names { append(name) }
    }

    /// The position of `name`, or nil.
    public func position(of name: String) -> Int? {
        let length = name.utf8.count
        for i in lengths.indices where lengths[i] == length && names[i] == name { return i }
        return names.firstIndex(of: name)
    }

    /// Adds a name not already there and returns its position.
    @discardableResult public mutating func append(_ name: String) -> Int {
        names.append(name)
        lengths.append(name.utf8.count)
        return names.count - 1
    }
}
