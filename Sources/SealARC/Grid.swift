import Foundation

/// An ARC grid: 1–30 rows × 1–30 columns of colours 0–9, row-major. The bounds are ARC's own (the Kaggle
/// rules and every reference augmenter drop grids beyond them), so a loaded grid always satisfies them;
/// augmentations may produce larger grids, which callers check with `fitsARC` and drop.
public struct Grid: Hashable, Sendable {
    public static let maxSide = 30

    public let rows: Int
    public let cols: Int
    /// Colours, row-major (`cells[r * cols + c]`).
    public let cells: [UInt8]

    public init(rows: Int, cols: Int, cells: [UInt8]) {
        precondition(rows >= 1 && cols >= 1 && cells.count == rows * cols, "grid shape \(rows)x\(cols) with \(cells.count) cells")
        self.rows = rows; self.cols = cols; self.cells = cells
    }

    /// From nested rows; nil unless rectangular, non-empty and every value is a colour 0–9.
    public init?(_ array: [[Int]]) {
        guard let first = array.first, !first.isEmpty, array.allSatisfy({ $0.count == first.count }),
              array.allSatisfy({ $0.allSatisfy { (0...9).contains($0) } }) else { return nil }
        self.init(rows: array.count, cols: first.count, cells: array.flatMap { $0.map(UInt8.init) })
    }

    public subscript(r: Int, c: Int) -> UInt8 { cells[r * cols + c] }

    public var array: [[Int]] { (0..<rows).map { r in (0..<cols).map { Int(cells[r * cols + $0]) } } }

    /// Within ARC's 30 × 30 limit.
    public var fitsARC: Bool { rows <= Self.maxSide && cols <= Self.maxSide }

    /// Builds a grid cell by cell.
    public static func make(rows: Int, cols: Int, _ value: (Int, Int) -> UInt8) -> Grid {
        var cells = [UInt8](); cells.reserveCapacity(rows * cols)
        for r in 0..<rows { for c in 0..<cols { cells.append(value(r, c)) } }
        return Grid(rows: rows, cols: cols, cells: cells)
    }

    /// The sub-grid rows r0..<r1, columns c0..<c1.
    public func crop(rows r: Range<Int>, cols c: Range<Int>) -> Grid {
        Grid.make(rows: r.count, cols: c.count) { self[r.lowerBound + $0, c.lowerBound + $1] }
    }
}

/// One demonstration: an input grid and the output the task's rule gives for it.
public struct ARCPair: Hashable, Sendable {
    public var input: Grid
    public var output: Grid
    public init(input: Grid, output: Grid) { self.input = input; self.output = output }
}

/// One test input, with its output when the solutions are known.
public struct ARCTest: Hashable, Sendable {
    public var input: Grid
    public var output: Grid?
    public init(input: Grid, output: Grid?) { self.input = input; self.output = output }
}

/// An ARC task: demonstrations and test inputs.
public struct ARCTask: Hashable, Sendable {
    public var id: String
    public var train: [ARCPair]
    public var test: [ARCTest]
    public init(id: String, train: [ARCPair], test: [ARCTest]) { self.id = id; self.train = train; self.test = test }

    /// Every grid of the task (train inputs and outputs, test inputs, known test outputs).
    public var grids: [Grid] {
        train.flatMap { [$0.input, $0.output] } + test.flatMap { [$0.input] + ($0.output.map { [$0] } ?? []) }
    }

    /// Whether every test output is known (a task can only be graded then).
    public var hasSolutions: Bool { !test.isEmpty && test.allSatisfy { $0.output != nil } }

    /// The per-task JSON layout (`{"train": [{"input", "output"}], "test": [{"input"[, "output"]}]}`).
    public var jsonObject: [String: Any] {
        [
            "train": train.map { ["input": $0.input.array, "output": $0.output.array] },
            "test": test.map { t -> [String: Any] in
                var d: [String: Any] = ["input": t.input.array]
                if let o = t.output { d["output"] = o.array }
                return d
            },
        ]
    }
}
