import Foundation
import SealCore

/// The `model` of a tokenizer.json when its type is `BPE`, reproducing HF `tokenizers`' merge
/// order exactly.
///
/// A word starts as one symbol per character (per byte for byte-level vocabularies); then the
/// adjacent pair with the lowest merge rank is merged, repeatedly, ties going to the leftmost
/// pair. As in HF's `Word::merge_all` this runs on a doubly linked list of symbols with a
/// min-heap of candidate pairs keyed by (rank, position), so a word of n symbols costs
/// O(n log n) rather than the O(n²) of rescanning for the best pair after every merge; heap
/// entries made stale by an earlier merge are recognised and skipped exactly as HF does, which
/// matters for which of two equal pairs merges first.
final class BPEModel: @unchecked Sendable {
    /// Token bytes -> id.
    let vocab: ByteStringTable
    /// id -> token string, for decoding (nil where no token has that id).
    let idToToken: [String?]
    /// Number of vocabulary entries (HF's `get_vocab_size`, used to number new added tokens).
    let vocabCount: Int
    /// (left id << 32 | right id) -> (rank << 32 | merged id).
    private let merges: [UInt64: UInt64]
    private let unkID: Int32?
    private let fuseUnk: Bool
    private let byteFallback: Bool
    private let ignoreMerges: Bool
    private let continuingSubwordPrefix: [UInt8]?
    private let endOfWordSuffix: [UInt8]?
    /// Ids of the `<0xNN>` tokens used by byte fallback (-1 where absent).
    private let byteTokenIDs: [Int32]
    /// Single-character tokens by scalar value below U+0800 (covers the byte-level alphabet) ...
    private let smallCharIDs: [Int32]
    /// ... and the rest.
    private let charIDs: [UInt32: Int32]

    /// Word -> ids. HF keeps a similar cache; words are short and repeat a lot in real text.
    private var cache: [UInt64: (word: [UInt8], ids: [Int32])] = [:]
    private let cacheLock = NSLock()
    private static let cacheCapacity = 100_000
    private static let maxCachedWordLength = 256

    static let maxSupportedID = (1 << 24) - 1

    init(_ node: JSONNode) throws {
        let type = try node.optionalString("type") ?? "BPE"
        guard type == "BPE" else {
            throw TokenizerError(.unsupported, file: node.source, key: node.path.isEmpty ? "type" : "\(node.path).type",
                                 "unsupported model type '\(type)' (supported: BPE)")
        }
        if let d = try node.optional("dropout"), try d.double() != 0 {
            throw d.error(.unsupported, "BPE dropout is random at encode time; only null or 0 is supported")
        }

        // Vocabulary.
        let vocabNode = try node.required("vocab")
        let members = try vocabNode.members()
        var table = ByteStringTable(capacity: members.count)
        var entries: [(String, Int32)] = []
        entries.reserveCapacity(members.count)
        var maxID = -1
        for (key, idNode) in members {
            let id = try idNode.uint32()
            guard id <= BPEModel.maxSupportedID else {
                throw idNode.error(.unsupported, "token id \(id) is above the supported maximum \(BPEModel.maxSupportedID)")
            }
            table.insert(Array(key.utf8), Int32(id))
            entries.append((key, Int32(id)))
            maxID = max(maxID, id)
        }
        var reverse = [String?](repeating: nil, count: maxID + 1)
        var small = [Int32](repeating: -1, count: 0x800)
        var chars: [UInt32: Int32] = [:]
        for (s, id) in entries where table.get(Array(s.utf8)) == id {
            // (Skips a key whose later duplicate took another id; two keys sharing an id, which real
            // files do not have, leave one of them in the reverse map, as in HF.)
            reverse[Int(id)] = s
            var it = s.unicodeScalars.makeIterator()
            if let c = it.next(), it.next() == nil {
                if c.value < 0x800 { small[Int(c.value)] = id } else { chars[c.value] = id }
            }
        }
        vocab = table
        vocabCount = table.count
        idToToken = reverse
        smallCharIDs = small
        charIDs = chars

        // Options.
        func nonEmpty(_ key: String) throws -> [UInt8]? {
            guard let s = try node.optionalString(key), !s.isEmpty else { return nil }
            return Array(s.utf8)
        }
        continuingSubwordPrefix = try nonEmpty("continuing_subword_prefix")
        endOfWordSuffix = try nonEmpty("end_of_word_suffix")
        fuseUnk = try node.optionalBool("fuse_unk", default: false)
        byteFallback = try node.optionalBool("byte_fallback", default: false)
        ignoreMerges = try node.optionalBool("ignore_merges", default: false)
        if let unkNode = try node.optional("unk_token") {
            let unk = try unkNode.string()
            // HF only fails when an unknown character is met; failing at load keeps encode total.
            guard let id = table.get(Array(unk.utf8)) else {
                throw unkNode.error(.invalidValue, "unk_token '\(unk)' is not in the vocabulary")
            }
            unkID = id
        } else {
            unkID = nil
        }
        var bytes = [Int32](repeating: -1, count: 256)
        for b in 0..<256 {
            let name = "<0x" + String(b, radix: 16, uppercase: true).leftPadded(to: 2) + ">"
            bytes[b] = table.get(Array(name.utf8)) ?? -1
        }
        byteTokenIDs = bytes

        // Merges: "a b" strings (split on the single space, as HF's legacy format) or ["a", "b"] pairs.
        let mergesNode = try node.required("merges")
        let mergeList = try mergesNode.array()
        var map = [UInt64: UInt64](minimumCapacity: mergeList.count)
        let prefixLength = continuingSubwordPrefix?.count ?? 0
        var scratch: [UInt8] = []
        for (rank, m) in mergeList.enumerated() {
            var aBytes: [UInt8], bBytes: [UInt8]
            switch m.value {
            case .string(let s):
                let u = Array(s.utf8)
                // HF's legacy format: exactly one space separating two tokens.
                guard let space = u.firstIndex(of: 0x20), space > 0, space < u.count - 1,
                      !u[(space + 1)...].contains(0x20) else {
                    throw m.error(.invalidValue, "bad merge '\(s)': expected two tokens separated by one space")
                }
                aBytes = Array(u[..<space])
                bBytes = Array(u[(space + 1)...])
            case .array(let pair):
                guard pair.count == 2, case .string(let x) = pair[0], case .string(let y) = pair[1] else {
                    throw m.error(.invalidValue, "bad merge: expected a pair of two strings")
                }
                aBytes = Array(x.utf8)
                bBytes = Array(y.utf8)
            default:
                throw m.error(.invalidValue, "bad merge: expected a string \"a b\" or a pair [\"a\", \"b\"], found \(m.value.kind)")
            }
            guard let aID = table.get(aBytes) else {
                throw m.error(.invalidValue, "merge token '\(String(decoding: aBytes, as: UTF8.self))' is not in the vocabulary")
            }
            guard let bID = table.get(bBytes) else {
                throw m.error(.invalidValue, "merge token '\(String(decoding: bBytes, as: UTF8.self))' is not in the vocabulary")
            }
            scratch.removeAll(keepingCapacity: true)
            scratch += aBytes
            scratch += bBytes.dropFirst(min(prefixLength, bBytes.count))
            guard let newID = table.get(scratch) else {
                throw m.error(.invalidValue, "merged token '\(String(decoding: scratch, as: UTF8.self))' is not in the vocabulary")
            }
            // A later duplicate overwrites an earlier one, as HF's `collect::<HashMap>` does.
            map[UInt64(UInt32(aID)) << 32 | UInt64(UInt32(bID))] = UInt64(rank) << 32 | UInt64(UInt32(newID))
        }
        merges = map
    }

    func tokenID(_ token: String) -> Int? { vocab.get(Array(token.utf8)).map(Int.init) }

    func token(_ id: Int) -> String? { id >= 0 && id < idToToken.count ? idToToken[id] : nil }

    /// Appends the ids of one pre-token (already in the model's alphabet) to `out`.
    func tokenize(_ word: [UInt8], into out: inout [Int], workspace ws: inout BPEWorkspace) {
        if word.isEmpty { return }
        if ignoreMerges, let id = vocab.get(word) {
            // Llama-3: a whole pre-token that is itself a token is emitted as is, even where the
            // merges would have split it differently.
            out.append(Int(id))
            return
        }
        let cacheable = word.count < BPEModel.maxCachedWordLength
        var key: UInt64 = 0
        if cacheable {
            key = word.withUnsafeBufferPointer { UInt64(bitPattern: Int64(ByteStringTable.hash($0))) }
            cacheLock.lock()
            let hit = cache[key]
            cacheLock.unlock()
            if let hit, hit.word == word {
                for id in hit.ids { out.append(Int(id)) }
                return
            }
        }
        mergeWord(word, ws: &ws)
        let start = out.count
        var i = 0
        while i >= 0 && i < ws.ids.count {
            out.append(Int(ws.ids[i]))
            i = Int(ws.next[i])
        }
        if cacheable {
            let ids = out[start...].map { Int32($0) }
            cacheLock.lock()
            if cache.count < BPEModel.cacheCapacity { cache[key] = (word, ids) }
            cacheLock.unlock()
        }
    }

    /// The id of the character `word[range]` with HF's prefix/suffix rules, or nil.
    @inline(__always)
    private func charID(_ word: UnsafeBufferPointer<UInt8>, _ lo: Int, _ hi: Int, scalar: UInt32, isFirst: Bool, isLast: Bool) -> Int32? {
        let prefixed = !isFirst && continuingSubwordPrefix != nil
        let suffixed = isLast && endOfWordSuffix != nil
        if !prefixed && !suffixed {
            let id = scalar < 0x800 ? smallCharIDs[Int(scalar)] : (charIDs[scalar] ?? -1)
            return id >= 0 ? id : nil
        }
        var key: [UInt8] = []
        if prefixed { key += continuingSubwordPrefix! }
        key += UnsafeBufferPointer(rebasing: word[lo..<hi])
        if suffixed { key += endOfWordSuffix! }
        return vocab.get(key)
    }

    /// HF's `merge_word`: characters to symbols (with byte fallback / unk), then `merge_all`.
    /// Leaves the result as a linked list in `ws` starting at index 0.
    private func mergeWord(_ word: [UInt8], ws: inout BPEWorkspace) {
        ws.reset()
        word.withUnsafeBufferPointer { w in
            var unk: (id: Int32, len: Int32)? = nil
            var i = 0
            let n = w.count
            while i < n {
                let b0 = w[i]
                let len = b0 < 0x80 ? 1 : b0 < 0xE0 ? 2 : b0 < 0xF0 ? 3 : 4
                let end = min(i + len, n)
                var scalar = UInt32(b0)
                if len > 1 {
                    scalar = UInt32(b0) & (len == 2 ? 0x1F : len == 3 ? 0x0F : 0x07)
                    for j in (i + 1)..<end { scalar = scalar << 6 | UInt32(w[j] & 0x3F) }
                }
                let byteLen = Int32(end - i)
                if let id = charID(w, i, end, scalar: scalar, isFirst: i == 0, isLast: end == n) {
                    if let u = unk { ws.add(u.id, u.len); unk = nil }
                    ws.add(id, byteLen)
                } else {
                    var handled = false
                    if byteFallback {
                        // HF's format!("<{:#04X}>", b), i.e. "<0x0A>". All bytes must have a token.
                        var allPresent = true
                        for j in i..<end where byteTokenIDs[Int(w[j])] < 0 { allPresent = false }
                        if allPresent {
                            // As in HF, a pending unk is not flushed before the byte tokens.
                            for j in i..<end { ws.add(byteTokenIDs[Int(w[j])], 1) }
                            handled = true
                        }
                    }
                    if !handled, let unkID {
                        if let u = unk {
                            if fuseUnk {
                                unk = (u.id, u.len + byteLen)
                            } else {
                                ws.add(u.id, u.len)
                                unk = (unkID, byteLen)
                            }
                        } else {
                            unk = (unkID, byteLen)
                        }
                    }
                    // With neither byte fallback nor an unk token, HF drops the character.
                }
                i = end
            }
            if let u = unk { ws.add(u.id, u.len) }
        }
        mergeAll(&ws)
    }

    /// HF's `Word::merge_all` without dropout.
    private func mergeAll(_ ws: inout BPEWorkspace) {
        let count = ws.ids.count
        if count < 2 { return }
        ws.heap.removeAll(keepingCapacity: true)
        for i in 0..<(count - 1) {
            if let m = merges[UInt64(UInt32(ws.ids[i])) << 32 | UInt64(UInt32(ws.ids[i + 1]))] {
                ws.push(rank: UInt32(m >> 32), pos: Int32(i), newID: Int32(truncatingIfNeeded: m))
            }
        }
        while let top = ws.pop() {
            let pos = Int(top.pos)
            if ws.lens[pos] == 0 { continue }
            let nextPos = Int(ws.next[pos])
            if nextPos < 0 { continue }
            // Skip entries made stale by an earlier merge.
            guard let m = merges[UInt64(UInt32(ws.ids[pos])) << 32 | UInt64(UInt32(ws.ids[nextPos]))],
                  Int32(truncatingIfNeeded: m) == top.newID else { continue }
            // Merge the right symbol into the left one.
            ws.ids[pos] = top.newID
            ws.lens[pos] += ws.lens[nextPos]
            ws.lens[nextPos] = 0
            let after = Int(ws.next[nextPos])
            ws.next[pos] = Int32(after)
            if after >= 0 { ws.prev[after] = Int32(pos) }
            // New candidate pairs with the neighbours.
            let before = Int(ws.prev[pos])
            if before >= 0, let p = merges[UInt64(UInt32(ws.ids[before])) << 32 | UInt64(UInt32(ws.ids[pos]))] {
                ws.push(rank: UInt32(p >> 32), pos: Int32(before), newID: Int32(truncatingIfNeeded: p))
            }
            if after >= 0, let p = merges[UInt64(UInt32(ws.ids[pos])) << 32 | UInt64(UInt32(ws.ids[after]))] {
                ws.push(rank: UInt32(p >> 32), pos: Int32(pos), newID: Int32(truncatingIfNeeded: p))
            }
        }
    }
}

/// Scratch buffers for merging one word, reused across the words of one `encode` call so that
/// merging allocates nothing, and owned by that call so that concurrent encodes share nothing.
struct BPEWorkspace {
    var ids: [Int32] = []
    var lens: [Int32] = []
    var prev: [Int32] = []
    var next: [Int32] = []
    /// Min-heap of (rank << 32 | position) with the merged id alongside.
    var heap: [(key: UInt64, newID: Int32)] = []

    mutating func reset() {
        ids.removeAll(keepingCapacity: true)
        lens.removeAll(keepingCapacity: true)
        prev.removeAll(keepingCapacity: true)
        next.removeAll(keepingCapacity: true)
    }

    @inline(__always)
    mutating func add(_ id: Int32, _ len: Int32) {
        let i = Int32(ids.count)
        if i > 0 { next[Int(i) - 1] = i }
        ids.append(id)
        lens.append(len)
        prev.append(i - 1)
        next.append(-1)
    }

    @inline(__always)
    mutating func push(rank: UInt32, pos: Int32, newID: Int32) {
        heap.append((UInt64(rank) << 32 | UInt64(UInt32(pos)), newID))
        var c = heap.count - 1
        while c > 0 {
            let p = (c - 1) >> 1
            if heap[p].key <= heap[c].key { break }
            heap.swapAt(p, c)
            c = p
        }
    }

    @inline(__always)
    mutating func pop() -> (pos: Int32, newID: Int32)? {
        guard let first = heap.first else { return nil }
        let last = heap.removeLast()
        if !heap.isEmpty {
            heap[0] = last
            var p = 0
            let n = heap.count
            while true {
                let l = 2 * p + 1
                if l >= n { break }
                var c = l
                if l + 1 < n, heap[l + 1].key < heap[l].key { c = l + 1 }
                if heap[p].key <= heap[c].key { break }
                heap.swapAt(p, c)
                p = c
            }
        }
        return (Int32(truncatingIfNeeded: first.key), first.newID)
    }
}

extension String {
    func leftPadded(to n: Int) -> String { count >= n ? self : String(repeating: "0", count: n - count) + self }
}
