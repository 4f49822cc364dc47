import Foundation

/// Inference with voting (SEAL's `inference/preprocess.py` and `arclib/voting.py`): a test input is asked under
/// the identity and five invertible transformations of the whole task, each answer is mapped back by the
/// inverse transformation, and the answers vote for two attempts.
public enum ARCVoting {
    /// The query transformations: identity, transpose, flip up-down, flip left-right, rotate 90, rotate 180.
    public static let transforms: [Augmentation] = [.identity, .transpose, .flip(0), .flip(1), .rotate(1), .rotate(2)]

    /// An answer mapped back to the task's frame, with the transformation it was asked under.
    public struct Answer: Sendable, Equatable {
        public var transform: Augmentation
        public var grid: Grid
        public init(transform: Augmentation, grid: Grid) { self.transform = transform; self.grid = grid }
    }

    /// Up to three distinct picks of a list, as SEAL's `get_all_type_of_votingsv2`: the most common answer, the
    /// second and third most common; where there are fewer distinct answers, the row-wise majority grid (each row
    /// the most common row at that index among answers of the most common shape's width), then the column-wise
    /// one, fill in. Ties go to the answer seen first (SEAL's order there is Python's set order).
    public static func topThree(_ xs: [Grid]) -> [Grid] {
        guard !xs.isEmpty else { return [] }
        let ranked = rankByCount(xs)
        let most = ranked[0]
        var second = ranked.count > 1 ? ranked[1] : most
        var third = ranked.count > 2 ? ranked[2] : most
        let rowMajority = lineMajority(xs, transpose: false)
        let colMajority = lineMajority(xs, transpose: true)
        if second == most { second = rowMajority != most ? rowMajority : colMajority }
        if third == most || third == second { third = (rowMajority != most && rowMajority != second) ? rowMajority : colMajority }
        return [most, second, third]
    }

    /// Distinct values by count (descending), ties by first appearance.
    public static func rankByCount<T: Hashable>(_ xs: [T]) -> [T] {
        var count: [T: Int] = [:], first: [T: Int] = [:]
        for (i, x) in xs.enumerated() { count[x, default: 0] += 1; if first[x] == nil { first[x] = i } }
        return count.keys.sorted { count[$0]! != count[$1]! ? count[$0]! > count[$1]! : first[$0]! < first[$1]! }
    }

    public static func lineMajority(_ xs: [Grid], transpose: Bool) -> Grid {
        let g = transpose ? xs.map { Augmentation.transpose.apply($0) } : xs
        struct Shape: Hashable { var r: Int; var c: Int }
        let shape = rankByCount(g.map { Shape(r: $0.rows, c: $0.cols) })[0]
        var rows: [[UInt8]] = []
        for r in 0..<shape.r {
            let candidates = g.filter { $0.rows > r && $0.cols == shape.c }.map { Array($0.cells[(r * $0.cols)..<((r + 1) * $0.cols)]) }
            rows.append(rankByCount(candidates)[0])
        }
        let out = Grid(rows: shape.r, cols: shape.c, cells: rows.flatMap { $0 })
        return transpose ? Augmentation.transpose.apply(out) : out
    }

    /// The attempts for one test input (at most `attempts`, 1–3). Candidates are the top three of all answers and
    /// of each transformation's answers (in the order all, identity, transpose, flip 0, flip 1, rotate 180,
    /// rotate 90); the attempts are the top picks of the candidates, where a tie between the second and third
    /// goes to the one the identity query answered more often (SEAL's rule). No answers: no attempts.
    public static func vote(_ answers: [Answer], attempts: Int = 2) -> [Grid] {
        if answers.isEmpty { return [] }
        var candidates = topThree(answers.map(\.grid))
        for t: Augmentation in [.identity, .transpose, .flip(0), .flip(1), .rotate(2), .rotate(1)] {
            let own = answers.filter { $0.transform == t }.map(\.grid)
            if !own.isEmpty { candidates += topThree(own) }
        }
        var picks = topThree(candidates)
        let count = { (g: Grid) in candidates.filter { $0 == g }.count }
        if count(picks[1]) == count(picks[2]) {
            let identity = answers.filter { $0.transform == .identity }.map(\.grid)
            let c2 = identity.filter { $0 == picks[1] }.count, c3 = identity.filter { $0 == picks[2] }.count
            if c2 > c3 { picks[2] = picks[1] } else { picks[1] = picks[2] }
        }
        return Array(picks.prefix(max(1, min(3, attempts))))
    }

    /// The prompts of one test input: the task's demonstrations and the input under each transformation (a
    /// transformation that would make a grid larger than 30 × 30 is skipped; none of these can).
    public static func queries(_ task: ARCTask, test: Int) -> [(transform: Augmentation, demos: [ARCPair], input: Grid)] {
        transforms.compactMap { t in
            let demos = task.train.map { ARCPair(input: t.apply($0.input), output: t.apply($0.output)) }
            let input = t.apply(task.test[test].input)
            guard (demos.flatMap { [$0.input, $0.output] } + [input]).allSatisfy(\.fitsARC) else { return nil }
            return (t, demos, input)
        }
    }

    /// A task is solved when every test output is among that input's attempts.
    public static func solved(_ task: ARCTask, attempts: [[Grid]]) -> Bool {
        guard attempts.count == task.test.count else { return false }
        return zip(task.test, attempts).allSatisfy { t, a in t.output.map { a.contains($0) } ?? false }
    }
}
