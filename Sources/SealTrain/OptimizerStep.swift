import Foundation
import SealCore
import SealKernels
import SealModel

/// How the processes of a run share one optimizer step: which micro-batches each computes, and how their
/// gradients and losses are combined. `LocalReduction` is one process; the engine's MPI reduction sums exactly
/// over ranks (`ExactAccumulator`), so that 1, 2 or 4 ranks give the same bits.
public protocol GradientReduction {
    /// This process's index and the number of processes; micro-batch j is computed by process j % size.
    var rank: Int { get }
    var size: Int { get }
    /// Whether micro-batch gradients are summed exactly (order-independent; what rank invariance needs) rather
    /// than added in float, in order, into the gradient buffer.
    var exact: Bool { get }
    /// Sums `accumulator` over the processes, in place: every process ends with the total.
    func allreduce(_ accumulator: ExactAccumulator) throws
    /// Every process's `values`, in rank order.
    func allgather(_ values: [Double]) throws -> [[Double]]
}

/// One process, gradients added in float in micro-batch order (what `Trainer` and PyTorch do).
public struct LocalReduction: GradientReduction {
    public var rank: Int { 0 }
    public var size: Int { 1 }
    public let exact: Bool
    public init(exact: Bool = false) { self.exact = exact }
    public func allreduce(_ accumulator: ExactAccumulator) throws {}
    public func allgather(_ values: [Double]) throws -> [[Double]] { [values] }
}

/// What one optimizer step did: its mean loss over all target tokens, their number, the gradient norm before
/// clipping.
public struct StepResult: Sendable {
    public var loss: Double
    public var tokens: Int
    public var gradNorm: Double
}

/// The state one optimizer step works on: trainable parameters (an adapter's or the model's), their gradient
/// buffer, AdamW, and — for exact reductions — an accumulator, allocated on first use (16 bytes per trainable
/// parameter; never for one process adding in float).
public final class OptimizerState: @unchecked Sendable {
    public let model: TransformerModel
    public let lora: LoRAAdapter?
    public let params: FloatBuffer
    public let grads: FloatBuffer
    public let optimizer: AdamW
    public let workspace: TrainingWorkspace
    private var accumulator: ExactAccumulator?

    /// Full finetuning allocates a gradient buffer the size of the model; LoRA uses the adapter's.
    public init(model: TransformerModel, lora: LoRAAdapter?, optimizer: AdamW, workspace: TrainingWorkspace) {
        self.model = model
        self.lora = lora
        params = lora?.params ?? model.params
        grads = lora?.grads ?? FloatBuffer(count: model.params.count)
        precondition(optimizer.count == params.count, "AdamW of \(optimizer.count) moments for \(params.count) parameters")
        self.optimizer = optimizer
        self.workspace = workspace
    }

    func exactAccumulator() -> ExactAccumulator {
        if let a = accumulator { return a }
        let a = ExactAccumulator(count: grads.count)
        accumulator = a
        return a
    }

    /// One optimizer step over `microBatches` (all of the step's, on every process): process `rank` computes
    /// micro-batches rank, rank + size, …; the loss is scaled by 1 / (the step's target tokens), so the summed
    /// gradients are those of the mean loss; gradients are reduced, clipped to `maxGradNorm` (nil: not clipped),
    /// checked, and AdamW steps with `learningRate`. `index` is the step's 0-based number, for errors.
    /// Throws `TrainingError.nonFinite` before applying an update from a non-finite loss or gradient.
    public func step(_ microBatches: [TrainingBatch], learningRate: Double, maxGradNorm: Double?, index: Int,
                     reduction: GradientReduction) throws -> StepResult {
        let tokens = microBatches.reduce(0) { $0 + $1.targetCount }
        let scale = tokens > 0 ? 1 / Float(tokens) : 0
        let fullGradients = lora == nil ? grads : nil
        var localLoss: [Double] = []
        let mine = microBatches.indices.filter { $0 % reduction.size == reduction.rank }
        if reduction.exact {
            let acc = exactAccumulator()
            acc.reset()
            for j in mine {
                grads.pointer.update(repeating: 0, count: grads.count)
                let r = try model.lossAndGradients(microBatches[j], lora: lora, fullGradients: fullGradients, lossScale: scale, workspace: workspace)
                acc.add(grads.pointer, count: grads.count)
                localLoss.append(r.lossSum)
            }
            try reduction.allreduce(acc)
            if acc.overflowed { throw TrainingError.gradientOverflow(step: index + 1, nonFinite: acc.nonFinite) }
            acc.result(into: grads.pointer)
        } else {
            precondition(reduction.size == 1, "float accumulation is for one process; a data-parallel reduction must be exact")
            grads.pointer.update(repeating: 0, count: grads.count)
            for j in mine {
                let r = try model.lossAndGradients(microBatches[j], lora: lora, fullGradients: fullGradients, lossScale: scale, workspace: workspace)
                localLoss.append(r.lossSum)
            }
        }
        // Micro-batch losses summed in micro-batch order, whichever process computed them.
        var perMicro = [Double](repeating: 0, count: microBatches.count)
        for (r, list) in try reduction.allgather(localLoss).enumerated() {
            for (i, v) in list.enumerated() where r + i * reduction.size < perMicro.count { perMicro[r + i * reduction.size] = v }
        }
        let loss = tokens > 0 ? perMicro.reduce(0, +) / Double(tokens) : 0
        let norm = maxGradNorm.map { clipGradients(grads, maxNorm: $0) } ?? gradientNorm(grads)
        guard loss.isFinite, norm.isFinite else { throw TrainingError.nonFinite(step: index + 1, loss: loss, gradNorm: norm) }
        optimizer.step(params: params, grads: grads, lr: learningRate)
        return StepResult(loss: loss, tokens: tokens, gradNorm: norm)
    }
}

/// The row order of a run: epoch after epoch, each a seeded permutation of `rows` (file order without
/// shuffling), cut at `count` rows. Counter-based draws: the same (seed, epoch) gives the same order anywhere.
public func trainingRowOrder(rows: Int, count: Int, shuffle: Bool, seed: UInt64) -> [Int] {
    guard rows > 0, count > 0 else { return [] }
    var out: [Int] = []
    out.reserveCapacity(count)
    var epoch: UInt64 = 0
    let rng = CounterRNG(seed: seed ^ 0x5EED_DA7A)
    while out.count < count {
        var perm = Array(0..<rows)
        if shuffle {
            // Fisher–Yates.
            for i in stride(from: rows - 1, to: 0, by: -1) {
                let j = Int(rng.uniform(stream: epoch + 1, index: UInt64(i)) * Double(i + 1))
                perm.swapAt(i, j)
            }
        }
        out += perm.prefix(count - out.count)
        epoch += 1
    }
    return out
}
