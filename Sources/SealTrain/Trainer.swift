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
    /// An exact gradient sum left its range (a gradient of 2^26 or more) or met NaN/Inf (`nonFinite`).
    case gradientOverflow(step: Int, nonFinite: Bool)
    public var description: String {
        switch self {
        case .invalidConfig(let m): return m
        case .nonFinite(let s, let l, let g):
            return "optimizer step \(s): loss \(l), gradient norm \(g) — not finite; training stopped and nothing was written"
        case .gradientOverflow(let s, let nf):
            return "optimizer step \(s): " + (nf ? "a gradient is not finite" : "a gradient is too large to sum exactly (2^26 or more)")
                + "; training stopped and nothing was written"
        }
    }

    /// Whether the error means the run diverged (its numbers are not finite), rather than was set up wrong.
    public var isDivergence: Bool {
        switch self {
        case .nonFinite, .gradientOverflow: return true
        case .invalidConfig: return false
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
    /// Parameters, gradients and AdamW of the run; one step at a time through `OptimizerState.step`.
    public let state: OptimizerState

    public init(model: TransformerModel, lora: LoRAAdapter?, config: TrainConfig,
                workspace: TrainingWorkspace = TrainingWorkspace()) throws {
        try config.validate()
        self.workspace = workspace
        self.model = model
        self.lora = lora
        self.config = config
        let optimizer = AdamW(count: lora?.params.count ?? model.params.count, beta1: config.beta1, beta2: config.beta2,
                              eps: config.eps, weightDecay: config.weightDecay)
        state = OptimizerState(model: model, lora: lora, optimizer: optimizer, workspace: workspace)
    }

    /// A fresh optimizer (the adapter itself is reset by `LoRAAdapter.reset`).
    public func resetOptimizer() { state.optimizer.reset() }

    /// Number of optimizer steps a run over `rows` examples takes.
    public func totalSteps(rows: Int) -> Int { TrainingPlan.totalSteps(rows: rows, config: config) }

    /// Trains on `rows`; calls `onStep` after every optimizer step. Throws on a non-finite loss or gradient before
    /// applying that step's update.
    public func train(_ rows: [EncodedExample], onStep: (StepLog) -> Void = { _ in }) throws {
        try config.validate()
        let plan = TrainingPlan(rows: rows, config: config)
        for step in 0..<plan.totalSteps {
            let start = KernelStats.now()
            guard let batches = plan.microBatches(step: step) else { break }
            let lr = plan.learningRate(step: step)
            let log = try self.step(batches, learningRate: lr, index: step)
            onStep(StepLog(step: step + 1, loss: log.loss, learningRate: lr, tokens: log.tokens, gradNorm: log.gradNorm,
                           seconds: KernelStats.now() - start))
        }
    }

    /// One optimizer step over the given micro-batches, in this process (gradients added in float, in order):
    /// returns the step's mean loss, its target count and the gradient norm before clipping.
    public func step(_ microBatches: [TrainingBatch], learningRate lr: Double, index: Int = 0) throws -> (loss: Double, tokens: Int, gradNorm: Double) {
        let o = state.optimizer
        o.beta1 = config.beta1; o.beta2 = config.beta2
        o.eps = config.eps; o.weightDecay = config.weightDecay
        let r = try state.step(microBatches, learningRate: lr, maxGradNorm: config.maxGradNorm, index: index, reduction: LocalReduction())
        return (r.loss, r.tokens, r.gradNorm)
    }
}

/// What a run over `rows` with `config` does, step by step: the number of optimizer steps, the row order (epoch
/// after epoch, each a seeded permutation, or file order without shuffling), each step's micro-batches and learning
/// rate. `Trainer` and `MultiAdapterTrainer` both follow it, so an adapter trained in a shared pass sees exactly the
/// rows, order and schedule it would alone.
public struct TrainingPlan: Sendable {
    public let rows: [EncodedExample]
    public let config: TrainConfig
    public let totalSteps: Int
    let order: [Int]

    public init(rows: [EncodedExample], config: TrainConfig) {
        self.rows = rows
        self.config = config
        totalSteps = Self.totalSteps(rows: rows.count, config: config)
        let perStep = config.batchSize * config.gradAccum
        let count = config.steps != nil ? totalSteps * perStep : Int((Double(rows.count) * config.epochs).rounded(.up))
        order = trainingRowOrder(rows: rows.count, count: count, shuffle: config.shuffle, seed: config.seed)
    }

    public static func totalSteps(rows: Int, config: TrainConfig) -> Int {
        if let s = config.steps { return s }
        let perStep = config.batchSize * config.gradAccum
        return max(1, Int((Double(rows) * config.epochs / Double(perStep)).rounded(.up)))
    }

    /// Step `step`'s micro-batches (`gradAccum` of `batchSize` rows, the last ones shorter); nil when the row
    /// order has run out (the run ends there).
    public func microBatches(step: Int) -> [TrainingBatch]? {
        let perStep = config.batchSize * config.gradAccum
        let cursor = step * perStep
        let stepRows = Array(order[min(cursor, order.count)..<min(cursor + perStep, order.count)])
        if stepRows.isEmpty { return nil }
        return stride(from: 0, to: stepRows.count, by: config.batchSize).map { s in
            let idx = stepRows[s..<min(s + config.batchSize, stepRows.count)]
            return TrainingBatch(sequences: idx.map { rows[$0].ids }, targets: idx.map { rows[$0].targets })
        }
    }

    public func learningRate(step: Int) -> Double {
        config.learningRate * config.schedule.multiplier(step: step, totalSteps: totalSteps, warmupSteps: config.warmupSteps)
    }
}
