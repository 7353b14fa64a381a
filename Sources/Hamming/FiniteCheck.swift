/// The index of the first NaN or infinity in `values`, or nil: one vectorisable integer pass (an
/// all-ones exponent plus one exponent unit carries into the sign bit), then a search only when
/// that pass found something. Shared by the vector readers and the encoders; not public API.
package func firstNonFinite(_ values: UnsafeBufferPointer<Float>) -> Int? {
    var carry: UInt32 = 0
    for v in values { carry |= (v.bitPattern & 0x7f80_0000) &+ 0x0080_0000 }
    guard carry & 0x8000_0000 != 0 else { return nil }
    return values.firstIndex { !$0.isFinite }
}
