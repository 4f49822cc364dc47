import Foundation
import SealCore

/// SplitMix64 (SealCore) is the one random stream of the ARC data pipeline, so that a Python oracle reproduces
/// every seeded choice exactly (`scripts/fixtures/arc.py`); these are the draws that are ARC's own.
extension SplitMix64 {
    /// The shift of `translate`: rows then columns, each in 0...3.
    public mutating func translateShift() -> (rows: Int, cols: Int) { (below(4), below(4)) }

    /// A colour map keeping 0: `map[c]` is c's new colour; colours 1–9 are permuted as `permutation(9)` says
    /// (colour k + 1 becomes colour perm[k] + 1).
    public mutating func colourMap() -> [UInt8] {
        let p = permutation(9)
        return [0] + p.map { UInt8($0 + 1) }
    }
}

/// A grid transformation with numpy's conventions (SEAL's `arclib.augmenters`), applied alike to inputs and
/// outputs. Every case has an inverse on its image: `invert` undoes `apply` (for the size-changing ones it
/// checks that the grid is an image, e.g. made of 2 × 2 blocks, and returns nil otherwise).
public indirect enum Augmentation: Hashable, Sendable {
    case identity
    /// `np.rot90(g, k)`: k quarter turns counter-clockwise (k = 1, 2, 3).
    case rotate(Int)
    /// `flip_0` = `np.flipud` (rows reversed), `flip_1` = `np.fliplr` (columns reversed).
    case flip(Int)
    /// `g.T`.
    case transpose
    /// `np.concatenate((g, flip(g)), axis)`, or `(flip(g), g)` when reversed; flip along the same axis.
    case reflect(axis: Int, reverse: Bool)
    /// `np.roll(g, (rows, cols), axis=(0, 1))` (wraps around; a shift larger than the grid wraps again).
    case translate(rows: Int, cols: Int)
    /// Every cell a k × k block (`np.repeat` on both axes).
    case increaseResolution(Int)
    /// `np.repeat(g, k, axis=0)`.
    case increaseHeight(Int)
    /// `np.repeat(g, k, axis=1)`.
    case increaseWidth(Int)
    /// Tiling: axis 0 = n copies stacked vertically, 1 = side by side, 2 = both (n × n).
    case tile(axis: Int, n: Int)
    /// A colour map (index = old colour, value = new colour), a permutation of 0–9.
    case colours([UInt8])
    /// Transformations in order.
    case chain([Augmentation])

    // MARK: names

    /// Names accepted by `named`; `translate` and `permute_colors` take their parameters from a seed.
    public static let names: [String] = [
        "identity", "rotate_90", "rotate_180", "rotate_270", "flip_0", "flip_1", "transpose",
        "reflect_0_false", "reflect_0_true", "reflect_1_false", "reflect_1_true", "translate",
        "increase_resolution_2", "increase_height_2", "increase_width_2",
        "chain_rotate_90", "chain_rotate_180", "chain_rotate_270", "chain_flip_0", "chain_flip_1", "chain_transpose",
        "repeat_0_2", "repeat_1_2", "repeat_2_2", "permute_colors",
    ]

    /// The augmentation a name means; `translate`'s shift and `permute_colors`' map come from `SplitMix64(seed)`
    /// (`translateShift()`, `colourMap()`). `reflect_<axis>_<reverse>` takes true/false or 1/0. Nil for an unknown name.
    public static func named(_ name: String, seed: UInt64 = 0) -> Augmentation? {
        var rng = SplitMix64(seed: seed)
        switch name {
        case "identity": return .identity
        case "rotate_90": return .rotate(1)
        case "rotate_180": return .rotate(2)
        case "rotate_270": return .rotate(3)
        case "flip_0": return .flip(0)
        case "flip_1": return .flip(1)
        case "transpose": return .transpose
        case "translate": let s = rng.translateShift(); return .translate(rows: s.rows, cols: s.cols)
        case "increase_resolution_2": return .increaseResolution(2)
        case "increase_height_2": return .increaseHeight(2)
        case "increase_width_2": return .increaseWidth(2)
        case "repeat_0_2": return .tile(axis: 0, n: 2)
        case "repeat_1_2": return .tile(axis: 1, n: 2)
        case "repeat_2_2": return .tile(axis: 2, n: 2)
        case "permute_colors", "permute_colours": return .colours(rng.colourMap())
        default: break
        }
        if name.hasPrefix("chain_"), let t = named(String(name.dropFirst(6)), seed: seed),
           [.rotate(1), .rotate(2), .rotate(3), .flip(0), .flip(1), .transpose].contains(t) {
            return .chain([t, .increaseResolution(2)])
        }
        let parts = name.split(separator: "_")
        if parts.count == 3, parts[0] == "reflect", let axis = Int(parts[1]), axis == 0 || axis == 1 {
            switch parts[2] {
            case "true", "1": return .reflect(axis: axis, reverse: true)
            case "false", "0": return .reflect(axis: axis, reverse: false)
            default: return nil
            }
        }
        return nil
    }

    /// A readable name (the inverse of `named` for the unseeded cases).
    public var name: String {
        switch self {
        case .identity: return "identity"
        case .rotate(let k): return "rotate_\(90 * k)"
        case .flip(let a): return "flip_\(a)"
        case .transpose: return "transpose"
        case .reflect(let a, let r): return "reflect_\(a)_\(r)"
        case .translate(let r, let c): return "translate_\(r)_\(c)"
        case .increaseResolution(let k): return "increase_resolution_\(k)"
        case .increaseHeight(let k): return "increase_height_\(k)"
        case .increaseWidth(let k): return "increase_width_\(k)"
        case .tile(let a, let n): return "repeat_\(a)_\(n)"
        case .colours(let m): return "colours_" + m.map(String.init).joined()
        case .chain(let list):
            if list.count == 2, list[1] == .increaseResolution(2) { return "chain_" + list[0].name }
            return "chain(" + list.map(\.name).joined(separator: ",") + ")"
        }
    }

    // MARK: apply and invert

    public func apply(_ g: Grid) -> Grid {
        switch self {
        case .identity: return g
        case .rotate(let k):
            switch ((k % 4) + 4) % 4 {
            case 0: return g
            // np.rot90(g, 1)[i, j] = g[j, W-1-i]
            case 1: return Grid.make(rows: g.cols, cols: g.rows) { i, j in g[j, g.cols - 1 - i] }
            case 2: return Grid.make(rows: g.rows, cols: g.cols) { i, j in g[g.rows - 1 - i, g.cols - 1 - j] }
            // np.rot90(g, 3)[i, j] = g[H-1-j, i]
            default: return Grid.make(rows: g.cols, cols: g.rows) { i, j in g[g.rows - 1 - j, i] }
            }
        case .flip(let a):
            return a == 0 ? Grid.make(rows: g.rows, cols: g.cols) { i, j in g[g.rows - 1 - i, j] }
                          : Grid.make(rows: g.rows, cols: g.cols) { i, j in g[i, g.cols - 1 - j] }
        case .transpose:
            return Grid.make(rows: g.cols, cols: g.rows) { i, j in g[j, i] }
        case .reflect(let a, let reverse):
            let f = Augmentation.flip(a).apply(g)
            let (first, second) = reverse ? (f, g) : (g, f)
            return a == 0 ? Grid.make(rows: 2 * g.rows, cols: g.cols) { i, j in i < g.rows ? first[i, j] : second[i - g.rows, j] }
                          : Grid.make(rows: g.rows, cols: 2 * g.cols) { i, j in j < g.cols ? first[i, j] : second[i, j - g.cols] }
        case .translate(let dr, let dc):
            // np.roll: out[(i + dr) mod H, (j + dc) mod W] = g[i, j].
            func m(_ x: Int, _ n: Int) -> Int { ((x % n) + n) % n }
            return Grid.make(rows: g.rows, cols: g.cols) { i, j in g[m(i - dr, g.rows), m(j - dc, g.cols)] }
        case .increaseResolution(let k):
            return Grid.make(rows: g.rows * k, cols: g.cols * k) { i, j in g[i / k, j / k] }
        case .increaseHeight(let k):
            return Grid.make(rows: g.rows * k, cols: g.cols) { i, j in g[i / k, j] }
        case .increaseWidth(let k):
            return Grid.make(rows: g.rows, cols: g.cols * k) { i, j in g[i, j / k] }
        case .tile(let a, let n):
            let rn = a == 1 ? 1 : n, cn = a == 0 ? 1 : n
            return Grid.make(rows: g.rows * rn, cols: g.cols * cn) { i, j in g[i % g.rows, j % g.cols] }
        case .colours(let map):
            return Grid(rows: g.rows, cols: g.cols, cells: g.cells.map { map[Int($0)] })
        case .chain(let list):
            return list.reduce(g) { $1.apply($0) }
        }
    }

    /// Undoes `apply`: `invert(apply(g)) == g` for every grid. Nil when `g` cannot be an output of `apply`.
    public func invert(_ g: Grid) -> Grid? {
        switch self {
        case .identity: return g
        case .rotate(let k): return Augmentation.rotate(4 - ((k % 4) + 4) % 4).apply(g)
        case .flip, .transpose: return apply(g)
        case .translate(let r, let c): return Augmentation.translate(rows: -r, cols: -c).apply(g)
        case .colours(let map):
            var inv = [UInt8](repeating: 0, count: 10)
            for (c, d) in map.enumerated() { inv[Int(d)] = UInt8(c) }
            return Augmentation.colours(inv).apply(g)
        case .reflect(let a, let reverse):
            let n = a == 0 ? g.rows : g.cols
            guard n % 2 == 0 else { return nil }
            let h = n / 2
            let (firstHalf, secondHalf) = a == 0 ? (g.crop(rows: 0..<h, cols: 0..<g.cols), g.crop(rows: h..<n, cols: 0..<g.cols))
                                                 : (g.crop(rows: 0..<g.rows, cols: 0..<h), g.crop(rows: 0..<g.rows, cols: h..<n))
            let original = reverse ? secondHalf : firstHalf
            return apply(original) == g ? original : nil
        case .increaseResolution(let k): return shrink(g, rows: k, cols: k)
        case .increaseHeight(let k): return shrink(g, rows: k, cols: 1)
        case .increaseWidth(let k): return shrink(g, rows: 1, cols: k)
        case .tile(let a, let n):
            let rn = a == 1 ? 1 : n, cn = a == 0 ? 1 : n
            guard g.rows % rn == 0, g.cols % cn == 0 else { return nil }
            let t = g.crop(rows: 0..<(g.rows / rn), cols: 0..<(g.cols / cn))
            return apply(t) == g ? t : nil
        case .chain(let list):
            var x: Grid? = g
            for a in list.reversed() { x = x.flatMap { a.invert($0) } }
            return x
        }
    }

    /// The grid of which `g` is the (rows × cols)-block enlargement, or nil.
    func shrink(_ g: Grid, rows k: Int, cols l: Int) -> Grid? {
        guard g.rows % k == 0, g.cols % l == 0 else { return nil }
        let s = Grid.make(rows: g.rows / k, cols: g.cols / l) { i, j in g[i * k, j * l] }
        return apply(s) == g ? s : nil
    }

    /// Applies to every grid of a task (demonstrations, test inputs, known test outputs); nil when a result is
    /// larger than 30 × 30 (SEAL drops those).
    public func apply(to task: ARCTask) -> ARCTask? {
        var t = task
        t.train = task.train.map { ARCPair(input: apply($0.input), output: apply($0.output)) }
        t.test = task.test.map { ARCTest(input: apply($0.input), output: $0.output.map { apply($0) }) }
        return t.grids.allSatisfy(\.fitsARC) ? t : nil
    }
}

/// Shuffles a task's demonstrations with a seeded Fisher–Yates permutation (`SplitMix64(seed).permutation(n)`:
/// position k of the result holds demonstration perm[k]). Test inputs stay in order.
public func shuffleExamples(_ task: ARCTask, seed: UInt64) -> ARCTask {
    var rng = SplitMix64(seed: seed)
    var t = task
    t.train = rng.permutation(task.train.count).map { task.train[$0] }
    return t
}
