import Foundation

/// Counter-based random numbers: value i of stream s under seed k is a pure function of (k, s, i).
///
/// Why counter-based: a tensor can be filled in parallel chunks, and the same weights come out whatever the thread
/// count or the order tensors are visited in. The mixer is SplitMix64's finaliser, applied to a combination of the
/// three counters.
public struct CounterRNG: Sendable {
    public var seed: UInt64
    public init(seed: UInt64) { self.seed = seed }

    /// SplitMix64's step as a pure function: the finaliser of `z0` plus the increment.
    @inlinable @inline(__always)
    public static func mix(_ z0: UInt64) -> UInt64 { SplitMix64.finalize(z0 &+ SplitMix64.increment) }

    /// 64 random bits for (stream, index).
    @inlinable @inline(__always)
    public func bits(stream: UInt64, index: UInt64) -> UInt64 {
        Self.mix(Self.mix(seed ^ Self.mix(stream &* 0xD6E8_FEB8_6659_FD93)) &+ index)
    }

    /// A uniform double in [0, 1) for (stream, index), 53 random bits.
    @inlinable @inline(__always)
    public func uniform(stream: UInt64, index: UInt64) -> Double {
        Double(bits(stream: stream, index: index) >> 11) * (1.0 / 9_007_199_254_740_992.0)
    }

    /// A standard normal for (stream, index) by Box–Muller on two uniforms.
    @inlinable @inline(__always)
    public func normal(stream: UInt64, index: UInt64) -> Double {
        let u1 = 1 - uniform(stream: stream, index: 2 &* index)
        let u2 = uniform(stream: stream, index: 2 &* index &+ 1)
        return (-2 * Foundation.log(u1)).squareRoot() * Foundation.cos(2 * Double.pi * u2)
    }
}
