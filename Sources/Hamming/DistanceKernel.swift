import CHammingKernels

/// The instruction sets the distance kernels are written for, slowest first.
public enum InstructionSet: Int32, Sendable, CaseIterable, CustomStringConvertible {
    /// Plain code without a popcount instruction; runs everywhere.
    case portable = 0
    /// Scalar POPCNT.
    case popcnt = 1
    /// AVX2 plus POPCNT.
    case avx2 = 2
    /// AVX-512 F, BW and VPOPCNTDQ.
    case avx512 = 3
    /// aarch64 Advanced SIMD (Apple silicon, Graviton).
    case neon = 4

    /// The fastest instruction set this CPU supports, decided once from its feature flags.
    public static let best = InstructionSet(rawValue: hx_best_isa()) ?? .portable

    /// The instruction set kernels use by default: ``best``, unless the environment variable
    /// `HASHIDX_ISA` (`portable`, `popcnt`, `avx2`, `avx512`, `neon`), read once per process,
    /// asks for a slower one — so that one machine can measure every kernel it can run. A name
    /// above what the CPU supports is capped at the best supported level below it; an unknown
    /// name is ignored.
    public static let active = InstructionSet(rawValue: hx_active_isa()) ?? .portable

    /// Whether this CPU can run kernels written for this instruction set.
    public var isSupported: Bool { hx_isa_supported(rawValue) != 0 }

    public var description: String { String(cString: hx_isa_name(rawValue)) }
}

/// A Hamming-distance kernel for one code width and instruction set, chosen once per index or
/// evaluation so that the inner loops (in C, one per instruction set and common width) stay
/// monomorphic. Codes are read unaligned.
public struct DistanceKernel: Sendable {
    /// Bytes per code, ⌈B/8⌉.
    public let codeBytes: Int
    /// The instruction set the kernel runs with.
    public let instructionSet: InstructionSet

    /// The kernel for codes of `codeBytes` bytes (1…1024), on `instructionSet` (default:
    /// ``InstructionSet/active``; an unsupported one is a programmer error).
    public init(codeBytes: Int, instructionSet: InstructionSet = .active) {
        precondition(codeBytes >= 1 && codeBytes <= 8191, "code width out of range")
        precondition(instructionSet.isSupported, "\(instructionSet) is not supported by this CPU")
        self.codeBytes = codeBytes
        self.instructionSet = instructionSet
    }

    /// popcount(a XOR b) over the code width.
    @inline(__always)
    public func distance(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer) -> Int {
        Int(hx_distance(instructionSet.rawValue, a.assumingMemoryBound(to: UInt8.self),
                        b.assumingMemoryBound(to: UInt8.self), codeBytes))
    }

    /// Writes the distance from `query` to each of `count` codes stored back to back at `base`
    /// into `out[0..<count]`.
    @inline(__always)
    public func distances(query: UnsafeRawPointer, base: UnsafeRawPointer, count: Int,
                          into out: UnsafeMutablePointer<UInt16>) {
        hx_distances(instructionSet.rawValue, query.assumingMemoryBound(to: UInt8.self),
                     base.assumingMemoryBound(to: UInt8.self), count, codeBytes, out)
    }

    /// Fused scan of `count` codes at `base` (rows `firstRow`…): emits (row, distance) for each
    /// code within `state.limit` whose bit in `dead` (nil: none dead) is clear into `hits` (room
    /// for `count`), in row order, without writing a distance array; in k-nearest mode the
    /// limit shrinks as hits arrive. Returns how many were emitted.
    @inline(__always)
    public func scan(query: UnsafeRawPointer, base: UnsafeRawPointer, count: Int, firstRow: UInt32,
                     dead: UnsafePointer<UInt64>?, state: UnsafeMutablePointer<hx_scan_state>,
                     hits: UnsafeMutablePointer<hx_hit>) -> Int {
        hx_scan(instructionSet.rawValue, query.assumingMemoryBound(to: UInt8.self), base.assumingMemoryBound(to: UInt8.self),
                count, codeBytes, firstRow, dead, state, hits)
    }

    /// Writes the indices i < `count` with `distances[i] ≤ limit` to `indices`, ascending;
    /// returns how many. `indices` must have room for `count` entries.
    @inline(__always)
    public static func select(_ distances: UnsafePointer<UInt16>, count: Int, atMost limit: Int,
                              into indices: UnsafeMutablePointer<UInt32>) -> Int {
        hx_select_at_most(distances, count, UInt16(clamping: limit), indices)
    }
}
