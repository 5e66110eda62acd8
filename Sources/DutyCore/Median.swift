/// The median of values already sorted ascending: the middle one, or the mean of the two middle ones when there
/// is an even number of them (as `duty stats`, the report and the simulator all give it); nil when there are none.
public func median(sorted values: [Double]) -> Double? {
    guard !values.isEmpty else { return nil }
    let mid = values.count / 2
    return values.count % 2 == 1 ? values[mid] : (values[mid - 1] + values[mid]) / 2
}
