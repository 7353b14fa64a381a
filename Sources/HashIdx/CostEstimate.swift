/// A cost a reader measures on its index, as the median of its last eight samples (a mean of
/// the middle two). A query that meets pages not yet mapped into the process, or is preempted,
/// takes many times the usual cost: a moving average would carry such a sample for dozens of
/// queries — long enough, on an index just opened, to send every k-nearest probe to a scan, and
/// then no probe would measure the cost again. The median forgets it once most of the last
/// eight samples are ordinary.
struct CostEstimate {
    private var samples = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
    private var count = 0
    /// The median of the samples held; nil before the first.
    private(set) var value: Double?

    mutating func add(_ sample: Double) {
        guard sample.isFinite, sample >= 0 else { return }
        withUnsafeMutableBytes(of: &samples) { raw in
            let held = raw.bindMemory(to: Double.self)
            held[count % 8] = sample
            count += 1
            let n = min(count, 8)
            var sorted = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
            value = withUnsafeMutableBytes(of: &sorted) { s in
                let v = s.bindMemory(to: Double.self)
                for i in 0..<n {
                    var j = i
                    while j > 0 && v[j - 1] > held[i] { v[j] = v[j - 1]; j -= 1 }
                    v[j] = held[i]
                }
                return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2
            }
        }
    }
}
