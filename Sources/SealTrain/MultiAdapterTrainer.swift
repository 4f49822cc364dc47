import Foundation
import SealCore
import SealKernels
import SealModel

/// One LoRA finetune of a multi-adapter run: its rows, its recipe (learning rate, epochs, schedule, seed of the row
/// order) and the seed of its adapter's initialisation (`LoRAAdapter.reset`).
public struct AdapterJob: Sendable {
    public var rows: [EncodedExample]
    public var config: TrainConfig
    public var loraSeed: UInt64
    public init(rows: [EncodedExample], config: TrainConfig, loraSeed: UInt64) {
        self.rows = rows; self.config = config; self.loraSeed = loraSeed
    }
}

/// Many independent LoRA finetunes over one frozen base, trained together: every optimizer step of the run is one
/// forward and backward pass over the stacked rows of all adapters in flight (`lossAndGradients(_: [AdapterBatch])`),
/// so each base weight is read once per pass instead of once per adapter, and every matrix product has the rows of
/// all of them. Each adapter keeps its own loss, gradients, clipping, AdamW moments, schedule and step count: what
/// it computes is what `Trainer` computes for it alone (up to the row-count dependence of the matrix kernels).
///
/// Adapters finish at different steps (their rows and epochs differ); a finished adapter's slot is taken by the
/// next job at once (continuous batching), so the pass stays full while jobs remain.
public final class MultiAdapterTrainer: @unchecked Sendable {
    public let model: TransformerModel
    public let loraConfig: LoRAConfig
    /// Adapters trained at once.
    public let slots: Int
    public let workspace: TrainingWorkspace
    private let adapters: [LoRAAdapter]
    private let optimizers: [AdamW]

    public init(model: TransformerModel, lora: LoRAConfig, slots: Int, workspace: TrainingWorkspace = TrainingWorkspace()) throws {
        guard slots >= 1 else { throw TrainingError.invalidConfig("adapters per pass must be ≥ 1 (got \(slots))") }
        self.model = model
        self.loraConfig = lora
        self.slots = slots
        self.workspace = workspace
        adapters = (0..<slots).map { _ in LoRAAdapter(modelConfig: model.config, config: lora) }
        optimizers = adapters.map { AdamW(count: $0.params.count) }
    }

    /// What one adapter is doing.
    private struct Running {
        let job: Int
        let plan: TrainingPlan
        var step = 0
    }

    /// Trains every job, `slots` at a time, in job order. `onStep(job, log)` follows each optimizer step of a job;
    /// `finished(job, adapter, outcome)` is called when a job ends — with its trained adapter (valid until the call
    /// returns: the slot is then reset for the next job) and `.success`, or `.failure` with the `TrainingError` of
    /// a step that was not finite (that step's update is not applied; the other jobs go on). An error thrown by
    /// `finished` or `onStep` stops the run.
    public func run(_ jobs: [AdapterJob], onStep: (Int, StepLog) throws -> Void = { _, _ in },
                    finished: (Int, LoRAAdapter, Result<Void, TrainingError>) throws -> Void) throws {
        for (j, job) in jobs.enumerated() {
            do { try job.config.validate() } catch let e as TrainingError {
                throw TrainingError.invalidConfig("adapter job \(j): \(e.description)")
            }
        }
        var running = [Running?](repeating: nil, count: slots)
        var next = 0
        /// A plan ends after its last step or when its row order runs out (as `Trainer.train` does).
        func done(_ r: Running) -> Bool { r.step >= r.plan.totalSteps || r.plan.microBatches(step: r.step) == nil }
        /// Empty slots take the next jobs (a job with nothing to train finishes at once).
        func fill() throws {
            for s in 0..<slots {
                while running[s] == nil && next < jobs.count {
                    let job = jobs[next]
                    adapters[s].reset(seed: job.loraSeed)
                    optimizers[s].reset()
                    let r = Running(job: next, plan: TrainingPlan(rows: job.rows, config: job.config))
                    next += 1
                    if done(r) { try finished(r.job, adapters[s], .success(())) } else { running[s] = r }
                }
            }
        }
        try fill()
        while running.contains(where: { $0 != nil }) {
            let start = KernelStats.now()
            var micro = [[TrainingBatch]](repeating: [], count: slots)
            for s in 0..<slots { if let r = running[s] { micro[s] = r.plan.microBatches(step: r.step)! } }
            let live = (0..<slots).filter { running[$0] != nil }
            var tokens = [Int](repeating: 0, count: slots)
            var perMicro = [[Double]](repeating: [], count: slots)
            for s in live {
                tokens[s] = micro[s].reduce(0) { $0 + $1.targetCount }
                adapters[s].grads.pointer.update(repeating: 0, count: adapters[s].grads.count)
            }
            // Micro-batch j of every adapter in one pass (with gradient accumulation, j = 0, 1, …).
            let depth = live.map { micro[$0].count }.max()!
            for j in 0..<depth {
                let members = live.filter { micro[$0].count > j }
                let parts = members.map { s in
                    AdapterBatch(batch: micro[s][j], lora: adapters[s], lossScale: tokens[s] > 0 ? 1 / Float(tokens[s]) : 0)
                }
                let results = try model.lossAndGradients(parts, workspace: workspace)
                for (s, r) in zip(members, results) { perMicro[s].append(r.lossSum) }
            }
            let seconds = KernelStats.now() - start
            for s in live {
                guard var r = running[s] else { continue }
                let c = r.plan.config
                let loss = tokens[s] > 0 ? perMicro[s].reduce(0, +) / Double(tokens[s]) : 0
                let g = adapters[s].grads
                let norm = c.maxGradNorm.map { clipGradients(g, maxNorm: $0) } ?? gradientNorm(g)
                guard loss.isFinite, norm.isFinite else {
                    running[s] = nil
                    try finished(r.job, adapters[s], .failure(.nonFinite(step: r.step + 1, loss: loss, gradNorm: norm)))
                    continue
                }
                let o = optimizers[s]
                o.beta1 = c.beta1; o.beta2 = c.beta2; o.eps = c.eps; o.weightDecay = c.weightDecay
                let lr = r.plan.learningRate(step: r.step)
                o.step(params: adapters[s].params, grads: g, lr: lr)
                r.step += 1
                running[s] = r
                try onStep(r.job, StepLog(step: r.step, loss: loss, learningRate: lr, tokens: tokens[s], gradNorm: norm, seconds: seconds))
                if done(r) {
                    running[s] = nil
                    try finished(r.job, adapters[s], .success(()))
                }
            }
            try fill()
        }
    }
}
