import Foundation
import SealModel
import SealTrain

// A run's settings as the engine uses them: typed, decoded and validated once, at the border, from a resolved
// configuration (the TOML file and `--set` overrides, checked against `EngineConfig.schema`). Every error names
// its key. Past this point the engine reads no strings: it takes these structs.

/// The starting policy.
public struct ModelSettings: Sendable {
    /// A HuggingFace model directory or a .gguf file (`model.path`).
    public var path: String
    /// Self-edit prompts in the model's chat format (`model.chat`).
    public var chat: Bool
}

/// What `train` runs (`run.experiment`).
public enum Experiment: String, Sendable, CaseIterable {
    case restem, cpt, continual
}

/// The run as a whole (`run.*`).
public struct RunSettings: Sendable {
    /// The run seed as the seed derivations take it (`run.seed`, two's complement for negative seeds).
    public var seed: UInt64
    public var rounds: Int
    /// Training contexts per round; nil: all of them every round.
    public var contextsPerRound: Int?
    public var restartFromBase: Bool
    public var experiment: Experiment
    /// Threads per rank; nil: SLURM_CPUS_PER_TASK or all cores.
    public var threads: Int?
}

/// Self-edit sampling (`sampling.*`).
public struct SamplingSettings: Sendable {
    public var samples: Int
    public var temperature: Double
    public var topP: Double
    public var maxNewTokens: Int
    /// Sequences decoded together.
    public var batch: Int
}

/// The inner loop: the LoRA finetune on one self-edit (`inner.*`).
public struct InnerLoopSettings: Sendable {
    public var lora: LoRAConfig
    public var lr: Double
    public var epochs: Double
    public var batchSize: Int
    public var schedule: LRSchedule
    /// Rows are cut to this many tokens (and to the model's context, once it is known).
    public var maxLength: Int
    /// Inner loops per self-edit; the reward is their mean.
    public var repeats: Int
}

/// What a kept self-edit earned (`reward.kind`).
public enum RewardKind: String, Sendable, CaseIterable {
    /// The adapted model's score.
    case adapted
    /// The adapted score minus the un-adapted one.
    case gain
}

/// ReSTEM's filter: which self-edits are reinforced (`filter.mode`, `filter.threshold`).
public enum FilterMode: Sendable, Equatable {
    /// The best per context, if it earned anything.
    case top1
    /// Every reward strictly above the threshold.
    case threshold(Double)
    /// Every self-edit that beat the un-adapted model.
    case positiveGain
}

/// The recipe of a data-parallel finetune of the policy (`sft.*`, `cpt.*`).
public struct FinetuneSettings: Sendable {
    /// LoRA, or nil for full finetuning.
    public var lora: LoRAConfig?
    public var lr: Double
    public var epochs: Double
    /// Rows per optimizer step (at least `micro`).
    public var batch: Int
    /// Rows per micro-batch: the unit of data-parallel work.
    public var micro: Int
    public var schedule: LRSchedule
    public var warmupSteps = 0
    /// Gradient clipping; nil: none.
    public var maxGradNorm: Double?
    public var weightDecay = 0.0
}

/// Replay against forgetting (`sft.replay_file`, `sft.replay_fraction`).
public struct ReplaySettings: Sendable {
    public var file: String
    /// The share of an update's rows drawn from the file, in (0, 0.95].
    public var fraction: Double
}

/// ReSTEM's policy update (`sft.*`).
public struct PolicyUpdateSettings: Sendable {
    public var recipe: FinetuneSettings
    /// nil: no replay.
    public var replay: ReplaySettings?
}

/// Where continued pretraining's self-edits come from (`cpt.source`).
public enum CPTSource: String, Sendable, CaseIterable {
    /// Sampled from the starting policy.
    case policy
    /// The domain's self-edit file (e.g. GPT-4.1's).
    case external
    /// The contexts alone.
    case context
}

/// Continued pretraining (`cpt.*`).
public struct CPTSettings: Sendable {
    public var source: CPTSource
    public var samples: Int
    public var distinctRows: Bool
    /// The finetune (full when `lora` is nil: `cpt.full`).
    public var recipe: FinetuneSettings
    /// The eval arm the finetuned model is recorded as.
    public var arm: String
    public var full: Bool { recipe.lora == nil }
}

/// Continual learning (`continual.*`).
public struct ContinualSettings: Sendable {
    public var sequences: Int
    public var length: Int
}

/// One configured evaluation arm: its name in the metrics file and what it does.
public struct EvalArm: Sendable, Equatable {
    public var name: String
    public var kind: ArmKind
    public init(name: String, kind: ArmKind) { self.name = name; self.kind = kind }
}

/// Evaluation (`eval.*`).
public struct EvalSettings: Sendable {
    public var arms: [EvalArm]
    public var afterTrain: Bool
    /// Self-edits per context in the self_edit and seal_round_N arms; nil: `sampling.samples`.
    public var samples: Int?
    public var eachRound: Bool
    public var beforeTrain: Bool
    public var retention: Bool
}

/// Every setting of a run the engine reads, decoded once.
public struct EngineSettings: Sendable {
    public var model: ModelSettings
    public var run: RunSettings
    public var sampling: SamplingSettings
    public var inner: InnerLoopSettings
    public var reward: RewardKind
    public var filter: FilterMode
    public var policyUpdate: PolicyUpdateSettings
    public var cpt: CPTSettings
    public var continual: ContinualSettings
    public var eval: EvalSettings
    /// The configuration these were decoded from: stored in the metrics file and compared on resume.
    public let resolved: ResolvedConfig

    /// Decodes and checks a resolved configuration. The schema already checked each value's type and range; this
    /// turns names into enums and checks what one key cannot say alone (a replay file without a fraction, say).
    public init(_ c: ResolvedConfig) throws {
        resolved = c
        model = ModelSettings(path: c.string("model.path"), chat: c.bool("model.chat"))
        if model.path.isEmpty { throw EngineError.setting(key: "model.path", "model.path is not set (config key model.path or --set model.path=DIR)") }
        let contexts = c.int("run.contexts_per_round"), threads = c.int("run.threads")
        run = RunSettings(seed: UInt64(bitPattern: Int64(c.int("run.seed"))), rounds: c.int("run.rounds"),
                          contextsPerRound: contexts > 0 ? contexts : nil, restartFromBase: c.bool("run.restart_from_base"),
                          experiment: try c.choice("run.experiment"), threads: threads > 0 ? threads : nil)
        sampling = SamplingSettings(samples: c.int("sampling.samples"), temperature: c.double("sampling.temperature"),
                                    topP: c.double("sampling.top_p"), maxNewTokens: c.int("sampling.max_new_tokens"),
                                    batch: c.int("sampling.batch"))
        inner = InnerLoopSettings(lora: try Self.lora(c, "inner"), lr: c.double("inner.lr"), epochs: c.double("inner.epochs"),
                                  batchSize: c.int("inner.batch_size"), schedule: try c.choice("inner.schedule"),
                                  maxLength: c.int("inner.max_length"), repeats: c.int("inner.repeats"))
        reward = try c.choice("reward.kind")
        switch c.string("filter.mode") {
        case "top1": filter = .top1
        case "threshold": filter = .threshold(c.double("filter.threshold"))
        case "positive_gain": filter = .positiveGain
        case let other: throw EngineError.setting(key: "filter.mode", "filter.mode must be top1, threshold or positive_gain (got '\(other)')")
        }
        let fraction = c.double("sft.replay_fraction"), file = c.string("sft.replay_file")
        let replay: ReplaySettings?
        switch (file.isEmpty, fraction > 0) {
        case (true, true): throw EngineError.setting(key: "sft.replay_fraction", "sft.replay_fraction is \(fraction) but sft.replay_file is not set")
        case (false, false): throw EngineError.setting(key: "sft.replay_file", "sft.replay_file is set but sft.replay_fraction is 0: no replay row would be used (set a fraction, or leave the file out)")
        case (false, true): replay = ReplaySettings(file: file, fraction: fraction)
        case (true, false): replay = nil
        }
        policyUpdate = PolicyUpdateSettings(recipe: try Self.finetune(c, "sft", full: false), replay: replay)
        cpt = CPTSettings(source: try c.choice("cpt.source"), samples: c.int("cpt.samples"), distinctRows: c.bool("cpt.distinct_rows"),
                          recipe: try Self.finetune(c, "cpt", full: c.bool("cpt.full")), arm: c.string("cpt.arm"))
        continual = ContinualSettings(sequences: c.int("continual.sequences"), length: c.int("continual.length"))
        let evalSamples = c.int("eval.samples")
        eval = EvalSettings(arms: try c.strings("eval.arms").map { EvalArm(name: $0, kind: try EngineConfig.armKind($0)) },
                            afterTrain: c.bool("eval.after_train"), samples: evalSamples > 0 ? evalSamples : nil,
                            eachRound: c.bool("eval.each_round"), beforeTrain: c.bool("eval.before_train"), retention: c.bool("eval.retention"))
    }

    /// `<p>.lora_rank`, `<p>.lora_alpha`, `<p>.lora_targets`.
    static func lora(_ c: ResolvedConfig, _ p: String) throws -> LoRAConfig {
        let targets: [LoRATarget]
        do { targets = try LoRATarget.parseList(c.strings("\(p).lora_targets").joined(separator: ",")) } catch {
            throw EngineError.setting(key: "\(p).lora_targets", "\(p).lora_targets: \(error)")
        }
        return LoRAConfig(rank: c.int("\(p).lora_rank"), alpha: c.double("\(p).lora_alpha"), targets: targets)
    }

    /// A finetune's recipe from its section (`sft`, `cpt`).
    static func finetune(_ c: ResolvedConfig, _ p: String, full: Bool) throws -> FinetuneSettings {
        let micro = max(1, c.int("\(p).micro_batch"))
        let clip = c.double("\(p).max_grad_norm")
        return FinetuneSettings(lora: full ? nil : try lora(c, p), lr: c.double("\(p).lr"), epochs: c.double("\(p).epochs"),
                                batch: max(micro, c.int("\(p).batch")), micro: micro, schedule: try c.choice("\(p).schedule"),
                                maxGradNorm: clip > 0 ? clip : nil)
    }
}
