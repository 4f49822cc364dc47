import SealCore

/// An immutable open-addressing hash map from byte strings to token ids.
///
/// The vocabulary is keyed by UTF-8 bytes, never by Swift `String`, because `String` equality is
/// Unicode canonical equivalence: `"é"` and `"e\u{301}"` are equal `String`s but different tokens
/// with different ids. Keeping all keys in one contiguous buffer also makes lookups
/// allocation-free (a probe hashes an `UnsafeBufferPointer` slice of the word being merged) and
/// keeps the 128k–151k entry vocabularies of Llama-3/Qwen compact.
struct ByteStringTable {
    private var storage: [UInt8] = []
    private var starts: [Int32] = []
    private var lengths: [Int32] = []
    private var values: [Int32] = []
    private var slots: [Int32] = []
    private var mask = 0

    var count: Int { values.count }

    init(capacity: Int) {
        var cap = 16
        while cap < capacity * 2 { cap <<= 1 }
        slots = [Int32](repeating: -1, count: cap)
        mask = cap - 1
        starts.reserveCapacity(capacity)
        lengths.reserveCapacity(capacity)
        values.reserveCapacity(capacity)
    }

    @inline(__always)
    static func hash(_ key: UnsafeBufferPointer<UInt8>) -> Int {
        // FNV-1a, 64-bit, with a final avalanche so low bits are well mixed for the mask.
        var h = fnv1a64(key)
        h ^= h >> 33
        h = h &* 0xff51_afd7_ed55_8ccd
        h ^= h >> 33
        return Int(truncatingIfNeeded: h)
    }

    /// Inserts or overwrites (a later duplicate key wins, as when serde fills a `HashMap`).
    mutating func insert(_ key: [UInt8], _ value: Int32) {
        if values.count * 2 >= slots.count { grow() }
        key.withUnsafeBufferPointer { k in
            if let e = find(k) {
                values[e] = value
                return
            }
            let e = Int32(values.count)
            starts.append(Int32(storage.count))
            lengths.append(Int32(k.count))
            values.append(value)
            storage.append(contentsOf: k)
            var i = ByteStringTable.hash(k) & mask
            while slots[i] >= 0 { i = (i + 1) & mask }
            slots[i] = e
        }
    }

    private mutating func grow() {
        let cap = slots.count * 2
        slots = [Int32](repeating: -1, count: cap)
        mask = cap - 1
        for e in 0..<values.count {
            let s = Int(starts[e]), n = Int(lengths[e])
            let h = storage.withUnsafeBufferPointer { ByteStringTable.hash(UnsafeBufferPointer(rebasing: $0[s..<(s + n)])) }
            var i = h & mask
            while slots[i] >= 0 { i = (i + 1) & mask }
            slots[i] = Int32(e)
        }
    }

    /// The entry index holding `key`, if any.
    @inline(__always)
    private func find(_ key: UnsafeBufferPointer<UInt8>) -> Int? {
        var i = ByteStringTable.hash(key) & mask
        return storage.withUnsafeBufferPointer { st -> Int? in
            while true {
                let e = Int(slots[i])
                if e < 0 { return nil }
                if Int(lengths[e]) == key.count {
                    let s = Int(starts[e])
                    var j = 0
                    while j < key.count, st[s + j] == key[j] { j += 1 }
                    if j == key.count { return e }
                }
                i = (i + 1) & mask
            }
        }
    }

    @inline(__always)
    func get(_ key: UnsafeBufferPointer<UInt8>) -> Int32? {
        find(key).map { values[$0] }
    }

    func get(_ key: [UInt8]) -> Int32? {
        key.withUnsafeBufferPointer { get($0) }
    }

    func get(_ key: ArraySlice<UInt8>) -> Int32? {
        key.withUnsafeBufferPointer { get($0) }
    }

    /// All (key, value) pairs, in insertion order.
    func forEach(_ body: ([UInt8], Int32) throws -> Void) rethrows {
        for e in 0..<values.count {
            let s = Int(starts[e]), n = Int(lengths[e])
            try body(Array(storage[s..<(s + n)]), values[e])
        }
    }
}
