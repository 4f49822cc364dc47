import Foundation
import SealCore
import SealGenerate
import SealKernels
import SealModel
import SealRuntime
import SealTokenizer
import SealTrain

/// The keys every ReSTEM run has, whatever its domain (domains add their own).
public enum EngineConfig {
    /// The largest `run.rounds`: round r samples with seed stream r, the evaluation of round N with 1000 + N.
    public static let maxRounds = 999
    /// The largest `run.threads` (and `--threads`).
    public static let maxThreads = 4096
    public static let allTargets: TOMLValue = .array(LoRATarget.allCases.map { .string($0.rawValue) })
    public static let schema: [ConfigKey] = [
        ConfigKey("model.path", .string, .string(""), "HuggingFace model directory (or a .gguf file) of the starting policy."),
        ConfigKey("model.chat", .bool, .bool(false), "Wrap self-edit prompts in the model's chat format (instruct models)."),
        ConfigKey("run.seed", .int, .int(0), "Run seed: every sample's seed derives from (seed, round, context id, sample index).", range: .anyInt),
        ConfigKey("run.rounds", .int, .int(2), "ReSTEM rounds (0: evaluation only). At most 999: the sampling seeds of training rounds (round r) and of the seal_round_N evaluations (1000 + N) stay apart.", range: .ints(0, EngineConfig.maxRounds)),
        ConfigKey("run.contexts_per_round", .int, .int(0), "Training contexts per round (0, or n ≥ the training split's size: all every round); round r takes the next n in order, wrapping around.", range: .atLeast(0)),
        ConfigKey("run.restart_from_base", .bool, .bool(false), "true: each round's SFT starts from the base model (ReSTEM as published); false: from the last round's policy (SEAL's code)."),
        ConfigKey("run.experiment", .string, .string("restem"), "What `train` runs: restem (ReSTEM rounds), cpt (continued pretraining over the eval split) or continual (sequential self-edits, the forgetting matrix).", range: .oneOf(["restem", "cpt", "continual"])),
        ConfigKey("run.threads", .int, .int(0), "Threads per rank (0: SLURM_CPUS_PER_TASK or all cores). At most 4096; more threads than the node's cores only slow a run down.", range: .ints(0, EngineConfig.maxThreads)),
        ConfigKey("sampling.samples", .int, .int(5), "Self-edits sampled per context.", range: .ints(1, 4096)),
        ConfigKey("sampling.temperature", .double, .double(1.0), "Sampling temperature of self-edits.", range: .nonNegative),
        ConfigKey("sampling.top_p", .double, .double(0.95), "Nucleus mass of self-edit sampling.", range: .positive(atMost: 1)),
        ConfigKey("sampling.max_new_tokens", .int, .int(256), "Longest self-edit in tokens.", range: .ints(1, 1 << 20)),
        ConfigKey("sampling.batch", .int, .int(16), "Sequences decoded together.", range: .ints(1, 4096)),
        ConfigKey("inner.lora_rank", .int, .int(32), "LoRA rank of the inner loop.", range: .ints(1, 4096)),
        ConfigKey("inner.lora_alpha", .double, .double(64), "LoRA alpha of the inner loop (scale alpha/rank).", range: .positive),
        ConfigKey("inner.lora_targets", .strings, .array([.string("q_proj"), .string("v_proj")]), "Projections the inner loop adapts.", range: .oneOf(LoRATarget.allCases.map(\.rawValue))),
        ConfigKey("inner.lr", .double, .double(1e-3), "Inner-loop learning rate.", range: .positive),
        ConfigKey("inner.epochs", .double, .double(10), "Inner-loop epochs over the self-edit's rows.", range: .positive(atMost: 10_000)),
        ConfigKey("inner.batch_size", .int, .int(1), "Inner-loop rows per step.", range: .ints(1, 4096)),
        ConfigKey("inner.schedule", .string, .string("linear"), "Inner-loop schedule: constant, linear or cosine.", range: .oneOf(LRSchedule.allCases.map(\.rawValue))),
        ConfigKey("inner.max_length", .int, .int(2048), "Inner-loop rows are cut to this many tokens.", range: .ints(2, 1 << 24)),
        ConfigKey("inner.repeats", .int, .int(3), "Inner loops per self-edit (different LoRA seeds); the reward is their mean.", range: .ints(1, 1000)),
        ConfigKey("reward.kind", .string, .string("adapted"), "adapted: the adapted model's score; gain: adapted minus the un-adapted score.", range: .oneOf(["adapted", "gain"])),
        ConfigKey("filter.mode", .string, .string("top1"), "Which self-edits ReSTEM keeps: top1 (best per context), threshold, positive_gain.", range: .oneOf(["top1", "threshold", "positive_gain"])),
        ConfigKey("filter.threshold", .double, .double(0.0), "With filter.mode = threshold: keep rewards strictly above this.", range: .finite),
        ConfigKey("sft.lora_rank", .int, .int(64), "LoRA rank of the policy update.", range: .ints(1, 4096)),
        ConfigKey("sft.lora_alpha", .double, .double(128), "LoRA alpha of the policy update.", range: .positive),
        ConfigKey("sft.lora_targets", .strings, allTargets, "Projections the policy update adapts.", range: .oneOf(LoRATarget.allCases.map(\.rawValue))),
        ConfigKey("sft.lr", .double, .double(3e-4), "Policy-update learning rate.", range: .positive),
        ConfigKey("sft.epochs", .double, .double(2), "Policy-update epochs over the kept pairs (and replay rows).", range: .positive(atMost: 10_000)),
        ConfigKey("sft.micro_batch", .int, .int(1), "Kept pairs per micro-batch (the unit of data-parallel work).", range: .ints(1, 4096)),
        ConfigKey("sft.batch", .int, .int(4), "Kept pairs per optimizer step.", range: .ints(1, 1 << 20)),
        ConfigKey("sft.schedule", .string, .string("linear"), "Policy-update schedule.", range: .oneOf(LRSchedule.allCases.map(\.rawValue))),
        ConfigKey("sft.max_grad_norm", .double, .double(1.0), "Policy-update gradient clipping (0: none).", range: .nonNegative),
        ConfigKey("sft.replay_file", .string, .string(""), "Replay against forgetting: JSONL rows the policy already knows ({\"text\"}, loss on every token, or {\"prompt\", \"completion\"}, loss on the completion; each ends with EOS, as the kept pairs), mixed into every policy update. Empty: no replay.", range: nil),
        ConfigKey("sft.replay_fraction", .double, .double(0), "Share of each policy update's rows drawn from sft.replay_file: with K kept pairs, round(K·f/(1−f)) replay rows, a seeded permutation of the file per round (cycling when more are needed), shuffled in with the kept pairs; in run.experiment = continual, the same share of each step's merged update (its self-edit's rows). 0: no replay.", range: .doubles(lo: 0, loOpen: false, hi: 0.95, hiOpen: false)),
        ConfigKey("cpt.source", .string, .string("policy"), "CPT's self-edits: policy (sampled from the starting policy), external (the domain's self-edit file, e.g. GPT-4.1's) or context (the passages alone).", range: .oneOf(["policy", "external", "context"])),
        ConfigKey("cpt.samples", .int, .int(5), "CPT: self-edits per context whose rows join the union.", range: .ints(1, 4096)),
        ConfigKey("cpt.distinct_rows", .bool, .bool(false), "CPT: keep each distinct training row once. false (SEAL's CPT.py): every self-edit's rows, so the passage appears once per self-edit (base_val, k = 5: 2000 rows, 1000 of them passages)."),
        ConfigKey("cpt.full", .bool, .bool(false), "CPT: full finetuning instead of LoRA."),
        ConfigKey("cpt.lora_rank", .int, .int(32), "CPT LoRA rank.", range: .ints(1, 4096)),
        ConfigKey("cpt.lora_alpha", .double, .double(64), "CPT LoRA alpha.", range: .positive),
        ConfigKey("cpt.lora_targets", .strings, .array([.string("q_proj"), .string("v_proj")]), "CPT LoRA projections.", range: .oneOf(LoRATarget.allCases.map(\.rawValue))),
        ConfigKey("cpt.lr", .double, .double(1e-3), "CPT learning rate.", range: .positive),
        ConfigKey("cpt.epochs", .double, .double(3), "CPT epochs over the union.", range: .positive(atMost: 10_000)),
        ConfigKey("cpt.batch", .int, .int(8), "CPT rows per optimizer step (the reference: batch 4 x grad-accum 2).", range: .ints(1, 1 << 20)),
        ConfigKey("cpt.micro_batch", .int, .int(1), "CPT rows per micro-batch (the unit of data-parallel work).", range: .ints(1, 4096)),
        ConfigKey("cpt.schedule", .string, .string("linear"), "CPT schedule.", range: .oneOf(LRSchedule.allCases.map(\.rawValue))),
        ConfigKey("cpt.max_grad_norm", .double, .double(1.0), "CPT gradient clipping (0: none).", range: .nonNegative),
        ConfigKey("cpt.arm", .string, .string("cpt"), "The eval arm CPT's finetuned model is recorded as."),
        ConfigKey("continual.sequences", .int, .int(8), "Continual learning: number of sequences.", range: .ints(1, 1_000_000)),
        ConfigKey("continual.length", .int, .int(8), "Continual learning: contexts per sequence.", range: .ints(1, 1_000_000)),
        ConfigKey("eval.arms", .strings, .array([.string("base"), .string("passage"), .string("self_edit")]),
                  "Arms `eval` runs on the eval split: base (no update), passage (inner loop on the context alone), self_edit (inner loops on the policy's own self-edits), external (inner loops on the domain's self-edit file, e.g. GPT-4.1's).", range: .choices(["base", "passage", "context", "self_edit", "self_edits", "external"], allowEmptyList: true)),
        ConfigKey("eval.after_train", .bool, .bool(true), "After the last round, evaluate the trained policy's self-edits as arm seal_round_N."),
        ConfigKey("eval.samples", .int, .int(0), "Self-edits per context in the self_edit / seal_round_N arms (0: sampling.samples). SEAL's ARC draws 15 per training task but 5 per evaluation task.", range: .ints(0, 4096)),
        ConfigKey("eval.each_round", .bool, .bool(false), "After every round n, evaluate the policy's self-edits as arm seal_round_n (the accuracy-over-rounds curve)."),
        ConfigKey("eval.before_train", .bool, .bool(false), "`train` first runs eval.arms with the starting policy, so one run holds every arm of the table."),
        ConfigKey("eval.retention", .bool, .bool(false), "Also ask the domain's retention split (passages the starting policy knows; knowledge.retention_file) without adaptation: arm retention_round_0 with the starting policy (with eval.before_train), retention_round_n after each round that is evaluated. What the policy updates made the policy forget."),
    ]

    /// The arm kind of a configured arm name.
    public static func armKind(_ name: String) throws -> ArmKind {
        switch name {
        case "base": return .none
        case "passage", "context": return .context
        case "self_edit", "self_edits": return .selfEdits
        case "external": return .external
        default: throw EngineError.setting(key: "eval.arms", "eval.arms: unknown arm '\(name)' (base, passage, self_edit, external)")
        }
    }
}

/// A failure of the run itself (not of a self-edit, which is data), by what is at fault.
public enum EngineError: Error, CustomStringConvertible {
    /// A setting the engine cannot use; the message names the key.
    case setting(key: String, String)
    /// The run's files (metrics file, checkpoints, journals) do not allow what was asked.
    case runFiles(path: String, String)
    /// The domain or its data lack what the run needs (a split without contexts, no external self-edits).
    case domain(String)
    /// A finetune of the policy did not train (`what` names it).
    case training(what: String, TrainingError)
    /// Work that should have a result has none: a damaged journal, or a bug in seal.
    case missingResult(String)

    public var description: String {
        switch self {
        case .setting(_, let m), .runFiles(_, let m), .domain(let m), .missingResult(let m): return m
        case .training(let what, let e): return "\(what): \(e)"
        }
    }
}

/// Deterministic seeds: a pure function of the run seed and the coordinates of the work, so that which rank does
/// the work, and in which order, cannot change it.
public enum Seeds {
    public static func key(_ parts: [UInt64]) -> UInt64 {
        var h: UInt64 = 0x5EA1_5EA1_5EA1_5EA1
        for p in parts { h = CounterRNG.mix(h ^ CounterRNG.mix(p)) }
        return h
    }
    /// FNV-1a of a string's UTF-8 (context ids).
    public static func hash(_ s: String) -> UInt64 {
        fnv1a64(s.utf8)
    }
}

/// Assigns contexts to ranks, balanced by cost: longest-processing-time first (ties by id), each to the currently
/// least-loaded rank (ties to the lowest rank). Deterministic, and the work of a context does not depend on it.
public func shard(_ contexts: [ContextInfo], ranks: Int) -> [[ContextInfo]] {
    var load = [Double](repeating: 0, count: ranks)
    var out = [[ContextInfo]](repeating: [], count: ranks)
    for c in contexts.sorted(by: { $0.cost > $1.cost || ($0.cost == $1.cost && $0.id < $1.id) }) {
        guard let r = load.indices.min(by: { load[$0] < load[$1] || (load[$0] == load[$1] && $0 < $1) }) else { break }
        out[r].append(c)
        load[r] += c.cost
    }
    return out
}
