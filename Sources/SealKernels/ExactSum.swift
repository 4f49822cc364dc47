import CSealKernels

/// Exact, order-independent sums of float32 vectors: what makes data-parallel training give bit-identical weights
/// on 1, 2 or 4 ranks.
///
/// Float addition is not associative, so the same gradients summed in a different grouping (more ranks, another
/// MPI reduction tree, another microbatch split) give different bits. Here each float is converted *exactly* into a
/// signed 128-bit fixed-point integer (scale 2^100) and integers are added; integer addition is associative and
/// commutative, so for any partition of a list of vectors into groups, summing each group into an accumulator and
/// then adding the accumulators (`add(_:)`, or `MPIRuntime.allreduce` across ranks) gives the same integers as
/// adding every vector into one accumulator in any order — and `result(into:)` rounds that exact sum to float32
/// once, so the float bits are identical too.
///
/// Range: values with 2^-77 ≤ |v| < 2^26 convert exactly; smaller ones are rounded to the 2^-100 grid (ties to even,
/// per value, so still order-independent). A value with |v| ≥ 2^26, NaN or ±Inf is not added and sets `overflowed`
/// (`nonFinite` tells NaN/Inf apart) instead of corrupting the sum; so does a sum whose magnitude reaches 2^27.
/// The integer arithmetic wraps, so a sum is exact whenever its true total is in range; the flag never misses a
/// real overflow, and may (rarely, order-dependently) also be set when a partial sum left the range and came back.
///
/// Memory: 16 bytes per element plus 32 bytes of status (`count + 2` words; see seal_exact.h for the layout).
/// Not thread-safe; one accumulator per thread or a lock around it.
public final class ExactAccumulator {
    /// Elements (float sums) held.
    public let count: Int
    /// count + 2 words of (lo, hi) UInt64: the sums, then the status word (lo: out-of-range events, hi: non-finite
    /// values), then the reduction scratch word.
    private let words: UnsafeMutablePointer<UInt64>

    /// Bytes of 128-bit words per element.
    public static let wordBytes = Int(SEAL_EXACT_WORD_BYTES)

    /// A zeroed accumulator of `count` sums.
    public init(count: Int) {
        precondition(count >= 0, "ExactAccumulator count must be non-negative")
        self.count = count
        let raw = UnsafeMutableRawPointer.allocate(byteCount: (count + Int(SEAL_EXACT_STATUS_WORDS)) * Self.wordBytes,
                                                   alignment: 64)
        words = raw.bindMemory(to: UInt64.self, capacity: 2 * (count + Int(SEAL_EXACT_STATUS_WORDS)))
        reset()
    }

    deinit { UnsafeMutableRawPointer(words).deallocate() }

    /// Sets every sum to zero and clears the flags.
    public func reset() {
        words.update(repeating: 0, count: 2 * (count + Int(SEAL_EXACT_STATUS_WORDS)))
    }

    private var status: UnsafeMutablePointer<UInt64> { words + 2 * count }

    /// sums[offset + i] += values[i] for i < n, exactly. Long runs are split over `Parallel.threads` (each element
    /// is computed by the same code whatever the split, so the result does not depend on the thread count).
    public func add(_ values: UnsafePointer<Float>, count n: Int, at offset: Int = 0) {
        precondition(n >= 0 && offset >= 0 && offset + n <= count, "ExactAccumulator.add: \(offset)+\(n) > \(count)")
        let base = words + 2 * offset
        let t = min(Parallel.threads, n / 65_536)
        if t <= 1 {
            var events: (UInt64, UInt64) = (0, 0)
            withUnsafeMutableBytes(of: &events) {
                seal_exact_add_floats(base, values, n, $0.baseAddress!.assumingMemoryBound(to: UInt64.self))
            }
            record(events.0, events.1)
            return
        }
        let perChunk = UnsafeMutablePointer<UInt64>.allocate(capacity: 2 * t)
        defer { perChunk.deallocate() }
        perChunk.initialize(repeating: 0, count: 2 * t)
        Parallel.forEach(t) { c in
            let s = n * c / t, e = n * (c + 1) / t
            seal_exact_add_floats(base + 2 * s, values + s, e - s, perChunk + 2 * c)
        }
        for c in 0..<t { record(perChunk[2 * c], perChunk[2 * c + 1]) }
    }

    /// Adds a whole array at `offset`.
    public func add(_ values: [Float], at offset: Int = 0) {
        values.withUnsafeBufferPointer { b in
            guard let p = b.baseAddress else { return }
            add(p, count: b.count, at: offset)
        }
    }

    /// self += other, element-wise and exactly (a local reduction: the same integers an allreduce would give);
    /// flags are carried over.
    public func add(_ other: ExactAccumulator) {
        precondition(other.count == count, "ExactAccumulator.add: counts \(other.count) and \(count) differ")
        var events: (UInt64, UInt64) = (0, 0)
        withUnsafeMutableBytes(of: &events) {
            seal_exact_add_words(words, other.words, count, $0.baseAddress!.assumingMemoryBound(to: UInt64.self))
        }
        record(events.0 &+ other.status[0], other.status[1])
    }

    private func record(_ overflow: UInt64, _ nonFinite: UInt64) {
        status[0] &+= overflow
        status[1] &+= nonFinite
    }

    /// out[i] = the exact sum i rounded to float32 (to nearest, ties to even), i < count.
    public func result(into out: UnsafeMutablePointer<Float>) {
        let t = min(Parallel.threads, count / 65_536)
        if t <= 1 { seal_exact_result(out, words, count); return }
        let w = words, n = count
        Parallel.forEach(t) { c in
            let s = n * c / t, e = n * (c + 1) / t
            seal_exact_result(out + s, w + 2 * s, e - s)
        }
    }

    /// The sums rounded to float32.
    public func result() -> [Float] {
        [Float](unsafeUninitializedCapacity: count) { b, n in
            if let p = b.baseAddress { result(into: p) }
            n = count
        }
    }

    /// True when the sums are not exact: a value with |v| ≥ 2^26, NaN or Inf was left out, or a sum reached 2^27.
    /// After `MPIRuntime.allreduce` it is the OR over ranks and the same on every rank.
    public var overflowed: Bool { status[0] != 0 || status[1] != 0 }

    /// True when a NaN or ±Inf was offered (and left out). Implies `overflowed`.
    public var nonFinite: Bool { status[1] != 0 }

    /// Bytes of the whole buffer (sums and status words): what a reduction across ranks sums.
    public var byteCount: Int { (count + Int(SEAL_EXACT_STATUS_WORDS)) * Self.wordBytes }

    /// The raw words for a reduction across processes. `body` must replace them with the element-wise *wrapping*
    /// sum, as 128-bit little-endian two's-complement integers, of every participant's words (all `byteCount`
    /// bytes: the status words add up like the sums, which is how the flags are OR-ed). Before `body` a magnitude
    /// bound is written into the scratch word; after it the reduced bound decides whether a sum may have wrapped,
    /// the same way on every rank. This is what `MPIRuntime.allreduce` calls.
    public func withUnsafeMutableReductionBytes<R>(_ body: (UnsafeMutableRawBufferPointer) throws -> R) rethrows -> R {
        // The counters are summed across ranks: cap them at 1 first, so repeated reductions cannot wrap them to 0.
        status[0] = min(status[0], 1)
        status[1] = min(status[1], 1)
        let scratch = words + 2 * (count + 1)
        scratch[0] = seal_exact_max_magnitude_high(words, count) &+ 1
        scratch[1] = 0
        let r = try body(UnsafeMutableRawBufferPointer(start: UnsafeMutableRawPointer(words), count: byteCount))
        // Reduced bound B: every |sum| < B * 2^64; below 2^63 no sum can have reached 2^127.
        if scratch[1] != 0 || scratch[0] >= 1 << 63 { status[0] &+= 1 }
        return r
    }

    /// Read-only access to the raw words (sums, then status): for checksums and tests.
    public func withUnsafeRawBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(start: UnsafeRawPointer(words), count: byteCount))
    }
}
