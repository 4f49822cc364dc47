import Foundation
import SealKernels
import SealModel
import SealRuntime
import SealTrain

/// A finetune of `model` on `rows`, data-parallel and rank-count invariant: the rows (epoch after epoch, each a
/// seeded permutation, identical on every rank) are cut into optimizer steps and fixed micro-batches; micro-batch j
/// of a step is computed by rank j mod size; each micro-batch's gradient is added exactly (fixed point) into an
/// accumulator; the accumulators are summed across ranks exactly; every rank applies the same clipped AdamW step
/// (`OptimizerState.step`, the one optimizer step of seal). With a LoRA recipe returns the trained adapter (the
/// model is untouched); a full finetune updates the model's weights in place and returns nil. Also returns
/// (step, loss) per step. `label` names the finetune in errors.
func dataParallelFinetune(_ rows: [EncodedExample], model: TransformerModel, recipe: FinetuneSettings, seed: UInt64, label: String,
                          mpi: MPIRuntime, workspace: TrainingWorkspace, times: inout PhaseTimes) throws -> (steps: [(step: Int, loss: Double)], adapter: LoRAAdapter?) {
    if rows.isEmpty { return ([], nil) }
    var lora: LoRAAdapter? = nil
    if let lc = recipe.lora {
        let adapter = LoRAAdapter(modelConfig: model.config, config: lc)
        adapter.reset(seed: seed)
        lora = adapter
    }
    let wanted = (Double(rows.count) * recipe.epochs).rounded(.up)
    guard wanted.isFinite, wanted >= 0, wanted <= Double(1 << 40) else {
        throw EngineError.setting(key: "epochs", "\(label): \(rows.count) rows × \(recipe.epochs) epochs is not a number of rows it can train on")
    }
    let totalRows = Int(wanted)
    let order = trainingRowOrder(rows: rows.count, count: totalRows, shuffle: true, seed: Seeds.key([seed, 3]))
    let perStep = max(recipe.micro, recipe.batch)
    let totalSteps = max(1, (totalRows + perStep - 1) / perStep)
    let trainable = lora?.params.count ?? model.params.count
    let state = OptimizerState(model: model, lora: lora, optimizer: AdamW(count: trainable, weightDecay: recipe.weightDecay),
                               workspace: workspace)
    let reduction = MPIGradientReduction(mpi: mpi)
    var log: [(Int, Double)] = []
    for step in 0..<totalSteps {
        try Preemption.check(label)
        let stepRows = order[(step * perStep)..<min((step + 1) * perStep, order.count)]
        let microBatches = stride(from: stepRows.startIndex, to: stepRows.endIndex, by: recipe.micro).map { start in
            let mb = stepRows[start..<min(start + recipe.micro, stepRows.endIndex)]
            return TrainingBatch(sequences: mb.map { rows[$0].ids }, targets: mb.map { rows[$0].targets })
        }
        let lr = recipe.lr * recipe.schedule.multiplier(step: step, totalSteps: totalSteps, warmupSteps: recipe.warmupSteps)
        let t0 = KernelStats.now()
        reduction.times = PhaseTimes()
        let r: StepResult
        do {
            r = try state.step(microBatches, learningRate: lr, maxGradNorm: recipe.maxGradNorm, index: step, reduction: reduction)
        } catch let e as TrainingError {
            throw EngineError.training(what: label, e)
        }
        times.wait += reduction.times.wait
        times.comm += reduction.times.comm
        times.sft += KernelStats.now() - t0 - reduction.times.wait - reduction.times.comm
        log.append((step + 1, r.loss))
    }
    return (log, lora)
}

/// The data-parallel reduction of a policy update: gradients summed exactly over every rank (the same bits on 1,
/// 2 or 4 ranks), losses gathered; the time spent waiting for the other ranks (a barrier first) and moving data
/// recorded apart.
final class MPIGradientReduction: GradientReduction {
    let mpi: MPIRuntime
    var times = PhaseTimes()
    init(mpi: MPIRuntime) { self.mpi = mpi }
    var rank: Int { mpi.rank }
    var size: Int { mpi.size }
    var exact: Bool { true }

    func allreduce(_ accumulator: ExactAccumulator) throws {
        var t0 = KernelStats.now()
        try mpi.barrier()
        times.wait += KernelStats.now() - t0
        t0 = KernelStats.now()
        try mpi.allreduce(accumulator)
        times.comm += KernelStats.now() - t0
    }

    func allgather(_ values: [Double]) throws -> [[Double]] {
        let t0 = KernelStats.now()
        defer { times.comm += KernelStats.now() - t0 }
        return try mpi.allgather(try Wire.bytes(values)).map { try Wire.decode([Double].self, $0) }
    }
}
