extension Array where Element == String {
    /// The position of `name` among a few names (kinds, teams, levels): a scan that compares lengths first, so
    /// that at most a name or two is compared byte by byte. Cheaper than hashing `name` when there are a few
    /// dozen names or fewer; the engine looks one up for every referral in every cycle.
    public func position(of name: String) -> Int? {
        let length = name.utf8.count
        for i in indices where self[i].utf8.count == length && self[i] == name { return i }
        return nil
    }
}
