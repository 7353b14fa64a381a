import Foundation
import HashData

/// Progress of a long command on standard error: count, share of the total, rate and time left.
/// On a terminal the line is redrawn in place (at most four times a second); with `--progress`
/// and standard error not a terminal, a line is printed every five seconds. Silent otherwise.
/// Not locked: callers serialise their calls (`eval` reports under its own lock).
final class Progress: @unchecked Sendable {
    private let label: String
    private let total: Int?
    private let enabled: Bool
    private let inPlace: Bool
    private let start = Date()
    private var last = Date.distantPast
    private(set) var done = 0

    /// - Parameters:
    ///   - forced: `--progress`; `quiet`: `--quiet` (wins over everything).
    init(_ label: String, total: Int?, forced: Bool, quiet: Bool) {
        self.label = label
        self.total = total
        let terminal = isatty(2) != 0
        enabled = !quiet && (terminal || forced)
        inPlace = terminal
    }

    /// Records `n` more items done.
    func advance(by n: Int) { update(to: done + n) }

    /// Records that `n` items are done in all.
    func update(to n: Int) {
        done = n
        guard enabled else { return }
        let now = Date()
        guard now.timeIntervalSince(last) >= (inPlace ? 0.25 : 5) else { return }
        last = now
        draw(now)
    }

    private func draw(_ now: Date) {
        let seconds = max(now.timeIntervalSince(start), 1e-9)
        let rate = Double(done) / seconds
        var line = "\(label): \(done)"
        if let total, total > 0 {
            line += " of \(total) (\(Int(100 * Double(done) / Double(total)))%)"
            if rate > 0 && done < total { line += ", \(Int((Double(total - done) / rate).rounded(.up))) s left" }
        }
        line += String(format: ", %.0f/s", rate)
        StandardStream.error(inPlace ? "\r\u{1B}[K" + line : line + "\n")
    }

    /// Clears the progress line (on a terminal) before the command's own summary.
    func finish() {
        guard enabled, inPlace, last != .distantPast else { return }
        StandardStream.error("\r\u{1B}[K")
    }
}
