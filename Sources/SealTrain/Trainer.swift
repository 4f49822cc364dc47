import Foundation
import SealKernels
import SealModel

/// Hyperparameters of one finetuning run (HF Trainer's names and defaults where it has them).
public struct TrainConfig: Sendable {
    public var learningRate = 1e-4
    /// Either a number of epochs over the data or an exact number of optimizer steps.
    public var epochs: Double = 1
    public var steps: Int? = nil
    public var batchSize = 1
    public var gradAccum = 1
    public var schedule: LRSchedule = .linear
    public var warmupSteps = 0
    public var weightDecay = 0.0
    public var maxGradNorm: Double? = 1.0
    public var beta1 = 0.9, beta2 = 0.999, eps = 1e-8
    public var shuffle = true
    public var seed: UInt64 = 0
    public init() {}

    public func validate() throws {
        func bad(_ m: String) -> TrainingError { .invalidConfig(m) }
        guard learningRate >= 0, learningRate.isFinite else { throw bad("learning rate must be ≥ 0") }
        guard batchSize >= 1 else { throw bad("batch size must be ≥ 1") }
        guard gradAccum >= 1 else { throw bad("gradient accumulation must be ≥ 1") }
        guard warmupSteps >= 0 else { throw bad("warmup steps must be ≥ 0") }
        if let s = steps { guard s >= 1 else { throw bad("steps must be ≥ 1") } } else { guard epochs > 0 else { throw bad("epochs must be > 0") } }
        if let m = maxGradNorm { guard m > 0 else { throw bad("max grad norm must be > 0") } }
    }
}

public enum TrainingError: Error, CustomStringConvertible {
    case invalidConfig(String)
    case nonFinite(step: Int, loss: Double, gradNorm: Double)
    public var description: String {
        switch self {
        case .invalidConfig(let m): return m
        case .nonFinite(let s, let l, let g):
            return "optimizer step \(s): loss \(l), gradient norm \(g) — not finite; training stopped and nothing was written"
        }
    }
}

/// What one optimizer step did.
public struct StepLog: Sendable {
    public var step: Int
    public var loss: Double
    public var learningRate: Double
    public var tokens: Int
    public var gradNorm: Double
    public var seconds: Double
}

/// Finetunes a model, with LoRA (the base frozen) or fully. One optimizer step: `gradAccum` micro-batches of
/// `batchSize` rows, the loss of the step the mean over all their target tokens, gradients clipped, one AdamW
/// update. Buffers (activations, gradients, moments) are allocated once and reused across steps and across inner
/// loops (`reset`).
public final class Trainer: @unchecked Sendable {
    public let model: TransformerModel
    public let lora: LoRAAdapter?
    /// May change between runs of the same trainer (an inner loop whose self-edit chose its own recipe).
    public var config: TrainConfig
    public let workspace: TrainingWorkspace
    let fullGrads: FloatBuffer?
    let optimizer: AdamW
    /// Called after the gradients of a step are complete and before clipping: the place where data-parallel runs
    /// allreduce them. Receives the gradient buffer and the step's local target count; returns the global count.
    public var gradientHook: ((FloatBuffer, Int) throws -> Int)?

    public init(model: TransformerModel, lora: LoRAAdapter?, config: TrainConfig,
                workspace: TrainingWorkspace = TrainingWorkspace()) throws {
        try config.validate()
        self.workspace = workspace
        self.model = model
        self.lora = lora
        self.config = config
        fullGrads = lora == nil ? FloatBuffer(count: model.params.count) : nil
        optimizer = AdamW(count: lora?.params.count ?? model.params.count, beta1: config.beta1, beta2: config.beta2,
                          eps: config.eps, weightDecay: config.weightDecay)
    }

    var trainable: FloatBuffer { lora?.params ?? model.params }
    var grads: FloatBuffer { lora?.grads ?? fullGrads! }

    /// A fresh optimizer (the adapter itself is reset by `LoRAAdapter.reset`).
    public func resetOptimizer() { optimizer.reset() }

    /// Number of optimizer steps a run over `rows` examples takes.
    public func totalSteps(rows: Int) -> Int {
        if let s = config.steps { return s }
        let perStep = config.batchSize * config.gradAccum
        return max(1, Int((Double(rows) * config.epochs / Double(perStep)).rounded(.up)))
    }

    /// The row order: epoch after epoch, each a seeded permutation (or file order without shuffling), cycling.
    public func rowOrder(rows: Int, count: Int) -> [Int] {
        var out: [Int] = []
        var epoch: UInt64 = 0
        while out.count < count {
            var perm = Array(0..<rows)
            if config.shuffle {
                let rng = CounterRNG(seed: config.seed ^ 0x5EED_DA7A)
                // Fisher–Yates with counter-based draws: the same (seed, epoch) gives the same order anywhere.
                for i in stride(from: rows - 1, to: 0, by: -1) {
                    let j = Int(rng.uniform(stream: epoch + 1, index: UInt64(i)) * Double(i + 1))
                    perm.swapAt(i, j)
                }
            }
            out += perm
            epoch += 1
        }
        return Array(out.prefix(count))
    }

    /// Trains on `rows`; calls `onStep` after every optimizer step. Throws on a non-finite loss or gradient before
    /// applying that step's update.
    public func train(_ rows: [EncodedExample], onStep: (StepLog) -> Void = { _ in }) throws {
        try config.validate()
        let total = totalSteps(rows: rows.count)
        let perStep = config.batchSize * config.gradAccum
        let order = rowOrder(rows: rows.count, count: config.steps != nil ? total * perStep : Int((Double(rows.count) * config.epochs).rounded(.up)))
        var cursor = 0
        for step in 0..<total {
            let start = KernelStats.now()
            let stepRows = Array(order[min(cursor, order.count)..<min(cursor + perStep, order.count)])
            cursor += perStep
            if stepRows.isEmpty { break }
            let micro = stride(from: 0, to: stepRows.count, by: config.batchSize).map {
                Array(stepRows[$0..<min($0 + config.batchSize, stepRows.count)])
            }
            let batches = micro.map { idx in
                TrainingBatch(sequences: idx.map { rows[$0].ids }, targets: idx.map { rows[$0].targets })
            }
            let lr = config.learningRate * config.schedule.multiplier(step: step, totalSteps: total, warmupSteps: config.warmupSteps)
            let log = try self.step(batches, learningRate: lr, index: step)
            onStep(StepLog(step: step + 1, loss: log.loss, learningRate: lr, tokens: log.tokens, gradNorm: log.gradNorm,
                           seconds: KernelStats.now() - start))
        }
    }

    /// One optimizer step over the given micro-batches: returns the step's mean loss, its target count and the
    /// gradient norm before clipping.
    public func step(_ microBatches: [TrainingBatch], learningRate lr: Double, index: Int = 0) throws -> (loss: Double, tokens: Int, gradNorm: Double) {
        let g = grads
        g.pointer.update(repeating: 0, count: g.count)
        var tokens = microBatches.reduce(0) { $0 + $1.targetCount }
        if let hook = gradientHook {
            // The loss scale needs the global token count; ranks agree on it before any backward pass.
            tokens = try hook(FloatBuffer(count: 0), tokens)
        }
        let scale = tokens > 0 ? 1 / Float(tokens) : 0
        var lossSum = 0.0
        for b in microBatches {
            let r = try model.lossAndGradients(b, lora: lora, fullGradients: fullGrads, lossScale: scale, workspace: workspace)
            lossSum += r.lossSum
        }
        if let hook = gradientHook { _ = try hook(g, tokens) }
        let loss = tokens > 0 ? lossSum / Double(tokens) : 0
        let norm = config.maxGradNorm.map { clipGradients(g, maxNorm: $0) } ?? gradientNorm(g)
        guard loss.isFinite, norm.isFinite else { throw TrainingError.nonFinite(step: index + 1, loss: loss, gradNorm: norm) }
        optimizer.beta1 = config.beta1; optimizer.beta2 = config.beta2
        optimizer.eps = config.eps; optimizer.weightDecay = config.weightDecay
        optimizer.step(params: trainable, grads: g, lr: lr)
        return (loss, tokens, norm)
    }
}
