import Foundation
import SealTokenizer

/// A regular language over bytes, written with a few combinators (what a fixed-schema JSON object needs:
/// literals, character classes, choices and bounded repetition). Compiled to a `ByteDFA`.
public indirect enum BytePattern: Sendable {
    case bytes([UInt8])
    /// One byte from the set.
    case oneOf(Set<UInt8>)
    case sequence([BytePattern])
    case choice([BytePattern])
    /// `min` to `max` repetitions (max nil: unbounded).
    case repeated(BytePattern, min: Int, max: Int?)

    public static func literal(_ s: String) -> BytePattern { .bytes(Array(s.utf8)) }
    /// One of the characters of `chars` (ASCII).
    public static func anyOf(_ chars: String) -> BytePattern { .oneOf(Set(chars.utf8)) }
    public static func optional(_ p: BytePattern) -> BytePattern { .repeated(p, min: 0, max: 1) }
}

/// A deterministic automaton over bytes: state 0 is the start; `next(s, b)` is −1 where byte b cannot follow.
/// Built from a `BytePattern` by Thompson's construction and the subset construction.
public struct ByteDFA: Sendable {
    /// transitions[s * 256 + b]: the next state, or −1.
    public let transitions: [Int32]
    public let accepting: [Bool]
    public var stateCount: Int { accepting.count }

    @inline(__always) public func next(_ s: Int32, _ b: UInt8) -> Int32 { transitions[Int(s) &* 256 &+ Int(b)] }

    /// The state after `bytes` from `state`, or nil where they leave the language.
    public func run(_ bytes: some Sequence<UInt8>, from state: Int32 = 0) -> Int32? {
        var s = state
        for b in bytes {
            s = next(s, b)
            if s < 0 { return nil }
        }
        return s
    }

    /// Whether `text` is in the language.
    public func accepts(_ text: String) -> Bool { run(text.utf8).map { accepting[Int($0)] } ?? false }

    public init(_ pattern: BytePattern) {
        // Thompson NFA: epsilon edges and byte-set edges.
        var eps: [[Int]] = [[]]
        var edges: [[(Set<UInt8>, Int)]] = [[]]
        func newState() -> Int { eps.append([]); edges.append([]); return eps.count - 1 }
        func build(_ p: BytePattern, _ from: Int) -> Int {
            switch p {
            case .bytes(let bs):
                var s = from
                for b in bs { let t = newState(); edges[s].append(([b], t)); s = t }
                return s
            case .oneOf(let set):
                let t = newState(); edges[from].append((set, t)); return t
            case .sequence(let ps):
                return ps.reduce(from) { build($1, $0) }
            case .choice(let ps):
                let end = newState()
                for q in ps { let e = build(q, from); eps[e].append(end) }
                return end
            case .repeated(let q, let lo, let hi):
                var s = from
                for _ in 0..<lo { s = build(q, s) }
                if let hi {
                    let end = newState()
                    eps[s].append(end)
                    for _ in lo..<max(lo, hi) { s = build(q, s); eps[s].append(end) }
                    return end
                }
                let loop = newState()
                eps[s].append(loop)
                let e = build(q, loop)
                eps[e].append(loop)
                return loop
            }
        }
        let final = build(pattern, 0)
        func closure(_ set: [Int]) -> [Int] {
            var seen = Set(set), stack = set
            while let s = stack.popLast() { for t in eps[s] where seen.insert(t).inserted { stack.append(t) } }
            return seen.sorted()
        }
        var ids: [[Int]: Int32] = [:]
        var sets: [[Int]] = []
        var trans: [Int32] = []
        var acc: [Bool] = []
        func intern(_ set: [Int]) -> Int32 {
            if let id = ids[set] { return id }
            let id = Int32(sets.count)
            ids[set] = id; sets.append(set)
            trans.append(contentsOf: repeatElement(-1, count: 256))
            acc.append(set.contains(final))
            return id
        }
        _ = intern(closure([0]))
        var k = 0
        while k < sets.count {
            let set = sets[k]
            var moves = [[Int]](repeating: [], count: 256)
            for s in set { for (bs, t) in edges[s] { for b in bs { moves[Int(b)].append(t) } } }
            for b in 0..<256 where !moves[b].isEmpty { trans[k * 256 + b] = intern(closure(moves[b])) }
            k += 1
        }
        transitions = trans
        accepting = acc
    }
}

/// Constrained decoding to a regular byte language (`ByteDFA`) over a tokenizer's vocabulary: a token is allowed
/// where its bytes (`Tokenizer.tokenBytes`) can all be consumed from the current state, and only if the language
/// can still be completed within the tokens left. Built once per (language, tokenizer); then each step costs
/// O(allowed tokens) — a table lookup, not a scan of the vocabulary.
///
/// The index is built as Outlines does (token edges per automaton state), by walking the vocabulary sorted by
/// bytes with shared prefixes walked once and a rejected prefix skipping every token that starts with it.
/// Tokens whose bytes are only part of a UTF-8 character are bytes like any other: the automaton decides.
public struct RegularConstraint: DecodingConstraint {
    public typealias State = Int32
    public let dfa: ByteDFA
    /// Token edges of state s: edgeToken/edgeNext[edgeStart[s] ..< edgeStart[s + 1]].
    let edgeStart: [Int32]
    let edgeToken: [Int32]
    let edgeNext: [Int32]
    /// Fewest tokens from a state to an accepting one (Int32.max: none).
    let fewest: [Int32]

    public var initialState: Int32 { 0 }
    /// Fewest tokens that spell a complete text from the start: sampling needs at least this many new tokens.
    public var fewestTokens: Int { Int(fewest[0]) }
    /// Total token edges of the index (its size).
    public var edgeCount: Int { edgeToken.count }

    public enum BuildError: Error, CustomStringConvertible {
        case cannotComplete
        public var description: String { "the tokenizer's vocabulary cannot spell any text of the language" }
    }

    public init(_ dfa: ByteDFA, tokenizer: Tokenizer) throws {
        self.dfa = dfa
        // The vocabulary sorted by bytes (ids break ties), and each token's common prefix with the one before.
        var entries: [(bytes: [UInt8], id: Int32)] = []
        entries.reserveCapacity(tokenizer.vocabSize)
        for id in 0..<tokenizer.vocabSize {
            if let b = tokenizer.tokenBytes(id), !b.isEmpty { entries.append((b, Int32(id))) }
        }
        entries.sort { $0.bytes.lexicographicallyPrecedes($1.bytes) || ($0.bytes == $1.bytes && $0.id < $1.id) }
        let n = entries.count
        var lcp = [Int](repeating: 0, count: n)
        for i in 1..<max(1, n) {
            let a = entries[i - 1].bytes, b = entries[i].bytes
            var k = 0
            while k < a.count && k < b.count && a[k] == b[k] { k += 1 }
            lcp[i] = k
        }
        /// First index ≥ i whose bytes do not start with entries[i].bytes[0..<len].
        func endOfPrefix(_ i: Int, _ len: Int) -> Int {
            let p = entries[i].bytes[0..<len]
            var lo = i + 1, hi = n
            while lo < hi {
                let mid = (lo + hi) / 2
                if entries[mid].bytes.starts(with: p) { lo = mid + 1 } else { hi = mid }
            }
            return lo
        }
        var start: [Int32] = [0], tokens: [Int32] = [], nexts: [Int32] = []
        var path = [Int32](repeating: 0, count: (entries.map(\.bytes.count).max() ?? 0) + 1)
        for s in 0..<dfa.stateCount {
            path[0] = Int32(s)
            var i = 0
            var valid = 0  // path[0...valid] holds the states after the current token's first `valid` bytes
            while i < n {
                let bytes = entries[i].bytes
                var d = min(lcp[i], valid)
                var dead = false
                while d < bytes.count {
                    let t = dfa.next(path[d], bytes[d])
                    if t < 0 { dead = true; break }
                    path[d + 1] = t
                    d += 1
                }
                if dead {
                    valid = d
                    i = endOfPrefix(i, d + 1)
                    continue
                }
                valid = bytes.count
                tokens.append(entries[i].id)
                nexts.append(path[bytes.count])
                i += 1
            }
            start.append(Int32(tokens.count))
        }
        // Fewest tokens to acceptance: breadth-first from the accepting states over reversed edges.
        var reverse = [[Int32]](repeating: [], count: dfa.stateCount)
        for s in 0..<dfa.stateCount {
            for e in Int(start[s])..<Int(start[s + 1]) { reverse[Int(nexts[e])].append(Int32(s)) }
        }
        var dist = [Int32](repeating: .max, count: dfa.stateCount)
        var queue: [Int32] = []
        for s in 0..<dfa.stateCount where dfa.accepting[s] { dist[s] = 0; queue.append(Int32(s)) }
        var head = 0
        while head < queue.count {
            let t = queue[head]; head += 1
            for s in reverse[Int(t)] where dist[Int(s)] == .max { dist[Int(s)] = dist[Int(t)] + 1; queue.append(s) }
        }
        if dist[0] == .max { throw BuildError.cannotComplete }
        edgeStart = start; edgeToken = tokens; edgeNext = nexts; fewest = dist
    }

    public func allowedTokens(_ state: Int32, remaining: Int, into allowed: inout [Int32]) {
        // A token is kept only if the text can still be completed in the tokens left after it.
        let budget = Int32(clamping: remaining - 1)
        for e in Int(edgeStart[Int(state)])..<Int(edgeStart[Int(state) + 1]) where fewest[Int(edgeNext[e])] <= budget {
            allowed.append(edgeToken[e])
        }
    }

    public func isComplete(_ state: Int32) -> Bool { dfa.accepting[Int(state)] }

    public func advance(_ state: Int32, token: Int) -> Int32 {
        let s = Int(state)
        for e in Int(edgeStart[s])..<Int(edgeStart[s + 1]) where Int(edgeToken[e]) == token { return edgeNext[e] }
        preconditionFailure("token \(token) is not allowed in state \(state)")
    }
}
