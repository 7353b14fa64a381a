/// A growable array of trivial values in plain memory, for per-query scratch. A hot loop copies
/// it into a local variable, appends without the run-time exclusivity checks that every access
/// to a class's stored array would pay, and stores it back; the owner frees it (``free()``).
/// Copies share the memory: only the last copy stored back is current.
struct PlainBuffer<Element: BitwiseCopyable> {
    private(set) var base: UnsafeMutablePointer<Element>
    var count = 0
    private(set) var capacity: Int

    init(capacity: Int = 64) {
        self.capacity = max(1, capacity)
        base = .allocate(capacity: self.capacity)
    }

    /// Makes room for `extra` more elements (doubling at least), so that ``appendUnchecked(_:)``
    /// may follow `extra` times.
    @inline(__always)
    mutating func reserve(extra: Int) {
        if count + extra > capacity { grow(to: max(2 * capacity, count + extra)) }
    }

    @inline(__always)
    mutating func append(_ x: Element) {
        if count == capacity { grow(to: 2 * capacity) }
        base[count] = x
        count += 1
    }

    /// Appends after ``reserve(extra:)`` made room.
    @inline(__always)
    mutating func appendUnchecked(_ x: Element) {
        base[count] = x
        count += 1
    }

    mutating func removeAll() { count = 0 }

    /// Replaces the contents with `items`.
    mutating func assign(_ items: UnsafeBufferPointer<Element>) {
        count = 0
        reserve(extra: items.count)
        if let start = items.baseAddress { base.update(from: start, count: items.count) }
        count = items.count
    }

    var elements: UnsafeBufferPointer<Element> { UnsafeBufferPointer(start: base, count: count) }

    var isEmpty: Bool { count == 0 }

    @inline(__always)
    subscript(i: Int) -> Element { base[i] }

    private mutating func grow(to n: Int) {
        let moved = UnsafeMutablePointer<Element>.allocate(capacity: n)
        moved.update(from: base, count: count)
        base.deallocate()
        base = moved
        capacity = n
    }

    func free() { base.deallocate() }
}
