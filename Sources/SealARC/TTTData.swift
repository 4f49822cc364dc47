import Foundation
import SealCore

/// One test-time-training example: demonstrations and a query pair, all from a task's own demonstrations.
public struct TTTExample: Hashable, Sendable {
    public var demos: [ARCPair]
    public var query: ARCPair
    public init(demos: [ARCPair], query: ARCPair) { self.demos = demos; self.query = query }

    public var grids: [Grid] { demos.flatMap { [$0.input, $0.output] } + [query.input, query.output] }
}

/// Which augmentation families a self-edit switches on (SEAL's `get_augmenters`).
public struct AugmentationSwitches: Hashable, Sendable, Codable {
    public var basic: Bool
    public var size: Bool
    public var chain: Bool
    public var `repeat`: Bool
    public init(basic: Bool, size: Bool, chain: Bool, repeat: Bool) {
        self.basic = basic; self.size = size; self.chain = chain; self.repeat = `repeat`
    }
    public static let all = AugmentationSwitches(basic: true, size: true, chain: true, repeat: true)
    public static let none = AugmentationSwitches(basic: false, size: false, chain: false, repeat: false)
}

/// Builds SEAL's TTT data for a task.
///
/// For each n in `leaveN`: every demonstration i in turn is the query and, for every way of leaving out n - 1
/// further demonstrations (combinations in lexicographic order), the rest (in their original order) are the
/// context. Each such task goes through every switched-on augmenter in SEAL's order (basic: rotate 90, 270, 180,
/// flip 0, 1, reflect 0 and 1 reversed, then not reversed, a random translation, transpose; size: resolution,
/// height, width ×2; chain: rotate 90, 270, 180, flip 0, 1, transpose, each followed by resolution ×2; repeat:
/// tile ×2 vertically, horizontally, both); results with a grid over 30 × 30 are dropped. The originals and the
/// augmented tasks are de-duplicated; each then gets (only when some augmenter is on) a colour permutation
/// keeping 0, and always a shuffle of its demonstrations; originals, augmented and permuted tasks are
/// de-duplicated together. The pools of all n are concatenated, filtered by `keep` (the caller's token limit),
/// and when more than `maxExamples` remain, a seeded shuffle picks `maxExamples` of them.
///
/// Randomness: one `SplitMix64` stream per n, seeded with `seed ^ n`, drawn in the order above (a translation
/// shift per task, then per pooled task a colour map and a demonstration permutation), and one seeded with
/// `seed ^ 0xCA9` for the cap. SEAL's numpy draws differ; the distribution is the same. Order is deterministic:
/// first occurrence wins in every de-duplication (SEAL's `set` leaves the order to hashing).
public struct TTTDataBuilder: Sendable {
    public var switches: AugmentationSwitches
    public var leaveN: [Int] = [1, 2]
    public var maxExamples = 250
    public var seed: UInt64 = 0

    public init(switches: AugmentationSwitches, leaveN: [Int] = [1, 2], maxExamples: Int = 250, seed: UInt64 = 0) {
        self.switches = switches; self.leaveN = leaveN; self.maxExamples = maxExamples; self.seed = seed
    }

    /// An augmenter of the pipeline: a fixed augmentation, or the random translation (one shift per task).
    enum Augmenter { case fixed(Augmentation), randomTranslate }

    var augmenters: [Augmenter] {
        var a: [Augmenter] = []
        if switches.basic {
            a += [.rotate(1), .rotate(3), .rotate(2), .flip(0), .flip(1),
                  .reflect(axis: 0, reverse: true), .reflect(axis: 1, reverse: true),
                  .reflect(axis: 0, reverse: false), .reflect(axis: 1, reverse: false)].map { .fixed($0) }
            a.append(.randomTranslate)
            a.append(.fixed(.transpose))
        }
        if switches.size { a += [.increaseResolution(2), .increaseHeight(2), .increaseWidth(2)].map { .fixed($0) } }
        if switches.chain {
            a += [Augmentation.rotate(1), .rotate(3), .rotate(2), .flip(0), .flip(1), .transpose].map { .fixed(.chain([$0, .increaseResolution(2)])) }
        }
        if switches.repeat { a += [Augmentation.tile(axis: 0, n: 2), .tile(axis: 1, n: 2), .tile(axis: 2, n: 2)].map { .fixed($0) } }
        return a
    }

    /// The leave-n tasks of a task's demonstrations (before augmentation).
    public static func leaveOut(_ train: [ARCPair], n: Int) -> [TTTExample] {
        guard n >= 1 else { return [] }
        var out: [TTTExample] = []
        for i in train.indices {
            let others = train.indices.filter { $0 != i }
            for drop in combinations(others, n - 1) {
                let dropped = Set(drop)
                out.append(TTTExample(demos: others.filter { !dropped.contains($0) }.map { train[$0] }, query: train[i]))
            }
        }
        return out
    }

    /// k-combinations of `items` in lexicographic order (itertools.combinations).
    public static func combinations(_ items: [Int], _ k: Int) -> [[Int]] {
        if k == 0 { return [[]] }
        if k > items.count { return [] }
        var out: [[Int]] = []
        var idx = Array(0..<k)
        while true {
            out.append(idx.map { items[$0] })
            var i = k - 1
            while i >= 0, idx[i] == i + items.count - k { i -= 1 }
            if i < 0 { return out }
            idx[i] += 1
            for j in (i + 1)..<k { idx[j] = idx[j - 1] + 1 }
        }
    }

    static func apply(_ a: Augmentation, _ t: TTTExample) -> TTTExample? {
        let r = TTTExample(demos: t.demos.map { ARCPair(input: a.apply($0.input), output: a.apply($0.output)) },
                           query: ARCPair(input: a.apply(t.query.input), output: a.apply(t.query.output)))
        return r.grids.allSatisfy(\.fitsARC) ? r : nil
    }

    static func dedupe(_ xs: [TTTExample]) -> [TTTExample] {
        var seen = Set<TTTExample>()
        return xs.filter { seen.insert($0).inserted }
    }

    /// The examples of one leave-n pool (before the filter and the cap).
    public func pool(_ task: ARCTask, n: Int) -> [TTTExample] {
        var rng = SplitMix64(seed: seed ^ UInt64(n))
        let initial = Self.leaveOut(task.train, n: n)
        let augs = augmenters
        var augmented: [TTTExample] = []
        for a in augs {
            for t in initial {
                let aug: Augmentation
                switch a {
                case .fixed(let x): aug = x
                case .randomTranslate: let s = rng.translateShift(); aug = .translate(rows: s.rows, cols: s.cols)
                }
                if let r = Self.apply(aug, t) { augmented.append(r) }
            }
        }
        let pooled = Self.dedupe(initial + augmented)
        var permuted: [TTTExample] = []
        for t in pooled {
            var x = t
            if !augs.isEmpty, let r = Self.apply(.colours(rng.colourMap()), x) { x = r }
            let perm = rng.permutation(x.demos.count)
            x.demos = perm.map { x.demos[$0] }
            permuted.append(x)
        }
        return Self.dedupe(pooled + permuted)
    }

    /// The TTT examples of a task: every pool, filtered by `keep`, capped at `maxExamples`.
    public func examples(_ task: ARCTask, keep: (TTTExample) -> Bool = { _ in true }) -> [TTTExample] {
        var all: [TTTExample] = []
        for n in leaveN { all += pool(task, n: n) }
        all = Self.dedupe(all).filter(keep)
        if all.count > maxExamples {
            var rng = SplitMix64(seed: seed ^ 0xCA9)
            all = Array(rng.permutation(all.count).prefix(maxExamples).map { all[$0] })
        }
        return all
    }
}
