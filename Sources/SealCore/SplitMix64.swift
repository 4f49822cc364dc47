/// SplitMix64 (Steele, Lea & Flood 2014): a tiny seeded stream of 64-bit values, the same on every platform and
/// Swift version (the standard library's generators promise neither). Chosen where a seeded choice must be
/// reproducible elsewhere: it is a dozen lines in any language, so a Python oracle restates every draw exactly
/// (`scripts/fixtures/arc.py`). Draws below n are `next() % n` (the bias, under 2^-60, is irrelevant here and
/// keeps the mapping simple to restate).
public struct SplitMix64: RandomNumberGenerator, Sendable {
    /// Added to the state before each draw (2^64 / φ, odd).
    public static let increment: UInt64 = 0x9E37_79B9_7F4A_7C15

    public var state: UInt64
    public init(seed: UInt64) { state = seed }

    /// SplitMix64's output function: a bijective mix of 64 bits in which every input bit reaches every output bit.
    /// `CounterRNG` builds on it too.
    @inlinable @inline(__always)
    public static func finalize(_ z0: UInt64) -> UInt64 {
        var z = z0
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    @inlinable
    public mutating func next() -> UInt64 {
        state &+= Self.increment
        return Self.finalize(state)
    }

    /// A draw in 0..<n.
    @inlinable
    public mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }

    /// Uniform in [0, 1), 53 bits.
    @inlinable
    public mutating func unit() -> Double { Double(next() >> 11) * 0x1p-53 }

    /// n bytes, each the top byte of one draw.
    public mutating func bytes(_ n: Int) -> [UInt8] { (0..<n).map { _ in UInt8(truncatingIfNeeded: next() >> 56) } }

    /// A Fisher–Yates permutation of 0..<n: for i from n-1 down to 1, swap i with below(i + 1).
    public mutating func permutation(_ n: Int) -> [Int] {
        var a = Array(0..<n)
        var i = n - 1
        while i > 0 { a.swapAt(i, below(i + 1)); i -= 1 }
        return a
    }
}
