/// CPython's `random.Random` (MT19937), bit for bit, for the one place seal must reproduce a Python random
/// choice: SEAL's evaluation subset is `random.seed(42); random.shuffle(passages)` and the first 200, so the
/// passages (and their order) match the reference's only if seeding, `getrandbits`, `_randbelow` and `shuffle` are
/// CPython's exactly. Checked against Python's own outputs (Tests/Fixtures/knowledge/python_random.json).
public struct PythonRandom: Sendable {
    private static let n = 624
    private static let m = 397
    private var mt = [UInt32](repeating: 0, count: 624)
    private var index = 625

    /// `random.seed(seed)` for an integer seed: the absolute value split into 32-bit words, least significant
    /// first (one word of 0 for seed 0), fed to MT19937's `init_by_array`.
    public init(seed: Int) {
        var magnitude = seed.magnitude
        var key: [UInt32] = []
        repeat {
            key.append(UInt32(truncatingIfNeeded: magnitude))
            magnitude >>= 32
        } while magnitude != 0
        initByArray(key)
    }

    private mutating func initGenrand(_ s: UInt32) {
        mt[0] = s
        for i in 1..<Self.n {
            mt[i] = 1_812_433_253 &* (mt[i - 1] ^ (mt[i - 1] >> 30)) &+ UInt32(i)
        }
        index = Self.n
    }

    private mutating func initByArray(_ key: [UInt32]) {
        initGenrand(19_650_218)
        var i = 1, j = 0
        for _ in 0..<max(Self.n, key.count) {
            mt[i] = (mt[i] ^ ((mt[i - 1] ^ (mt[i - 1] >> 30)) &* 1_664_525)) &+ key[j] &+ UInt32(j)
            i += 1; j += 1
            if i >= Self.n { mt[0] = mt[Self.n - 1]; i = 1 }
            if j >= key.count { j = 0 }
        }
        for _ in 0..<(Self.n - 1) {
            mt[i] = (mt[i] ^ ((mt[i - 1] ^ (mt[i - 1] >> 30)) &* 1_566_083_941)) &- UInt32(i)
            i += 1
            if i >= Self.n { mt[0] = mt[Self.n - 1]; i = 1 }
        }
        mt[0] = 0x8000_0000
    }

    private mutating func twist() {
        let upper: UInt32 = 0x8000_0000, lower: UInt32 = 0x7FFF_FFFF, matrix: UInt32 = 0x9908_B0DF
        for k in 0..<Self.n {
            let y = (mt[k] & upper) | (mt[(k + 1) % Self.n] & lower)
            mt[k] = mt[(k + Self.m) % Self.n] ^ (y >> 1) ^ ((y & 1) != 0 ? matrix : 0)
        }
        index = 0
    }

    /// The next 32-bit output (CPython's `genrand_uint32`).
    public mutating func nextUInt32() -> UInt32 {
        if index >= Self.n { twist() }
        var y = mt[index]
        index += 1
        y ^= y >> 11
        y ^= (y << 7) & 0x9D2C_5680
        y ^= (y << 15) & 0xEFC6_0000
        y ^= y >> 18
        return y
    }

    /// `getrandbits(k)` for 0 ≤ k ≤ 64: 32-bit words from least to most significant, the last one keeping its
    /// top bits.
    public mutating func getrandbits(_ k: Int) -> UInt64 {
        precondition(k >= 0 && k <= 64, "getrandbits supports 0...64 bits")
        if k == 0 { return 0 }
        if k <= 32 { return UInt64(nextUInt32() >> UInt32(32 - k)) }
        var result: UInt64 = 0
        var remaining = k, shift: UInt64 = 0
        while remaining > 0 {
            var r = nextUInt32()
            if remaining < 32 { r >>= UInt32(32 - remaining) }
            result |= UInt64(r) << shift
            shift += 32
            remaining -= 32
        }
        return result
    }

    /// `random()`: 53 random bits as a double in [0, 1).
    public mutating func random() -> Double {
        let a = UInt64(nextUInt32() >> 5), b = UInt64(nextUInt32() >> 6)
        return (Double(a) * 67_108_864.0 + Double(b)) * (1.0 / 9_007_199_254_740_992.0)
    }

    /// `_randbelow(n)` (= `randrange(n)`): getrandbits(n.bit_length()) until the draw is below n.
    public mutating func randbelow(_ n: Int) -> Int {
        precondition(n > 0, "randbelow needs n > 0")
        let k = Int.bitWidth - n.leadingZeroBitCount
        var r = getrandbits(k)
        while r >= UInt64(n) { r = getrandbits(k) }
        return Int(r)
    }

    /// `shuffle(x)`: for i from len-1 down to 1, swap x[i] with x[randbelow(i + 1)].
    public mutating func shuffle<T>(_ x: inout [T]) {
        guard x.count > 1 else { return }
        for i in stride(from: x.count - 1, through: 1, by: -1) {
            let j = randbelow(i + 1)
            x.swapAt(i, j)
        }
    }
}
