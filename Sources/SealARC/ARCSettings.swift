import Foundation
import SealEngine
import SealGenerate

/// Which tasks of a file a split takes (`arc.<split>_file`, `_solutions`, `_tasks`, `_count`).
public struct TaskSelection: Sendable {
    /// "": the split is not configured.
    public var file: String
    /// The Kaggle solutions file; nil: the tasks carry their test outputs.
    public var solutions: String?
    /// Task ids or set names; empty: all.
    public var tasks: [String]
    /// nil: all selected tasks.
    public var count: Int?
}

/// Which prompt format the domain writes (`arc.chat`).
public enum ARCChatSetting: Sendable, Equatable {
    /// The tokenizer's chat format if it has one, else plain prompts.
    case auto
    /// This format (its end-of-turn token must be in the vocabulary).
    case format(ChatFormat)
    /// Plain prompts.
    case none
}

/// The ARC domain's settings (`arc.*`, and the `model.*` and `sampling.*` keys it checks), decoded and checked
/// once, before any task or tokenizer is read; the domain takes them.
public struct ARCSettings: Sendable {
    public var modelPath: String
    public var format: GridFormat
    public var chat: ARCChatSetting
    /// `arc.chat` as written (for messages).
    public var chatName: String
    public var train: TaskSelection
    public var eval: TaskSelection
    public var maxLeaveOut: Int
    public var maxExamples: Int
    public var maxTokens: Int
    public var dataSeed: UInt64
    public var warmup: Int
    public var budget: Int
    public var attempts: Int
    public var answerTokens: Int
    public var oracle: ARCSelfEdit
    public var constrainedDecoding: Bool
    /// `sampling.max_new_tokens`: what a constrained self-edit must fit in.
    public var selfEditTokens: Int

    public init(_ config: ResolvedConfig) throws {
        if config.bool("model.chat") {
            throw ARCDataError("model.chat must be false for arc: the arc domain writes its own chat prompts (set arc.chat)")
        }
        guard let f = GridFormat(rawValue: config.string("arc.format")) else { throw ARCDataError("arc.format must be numpy or compact") }
        format = f
        modelPath = config.string("model.path")
        if modelPath.isEmpty { throw ARCDataError("model.path is not set") }
        chatName = config.string("arc.chat")
        switch chatName {
        case "auto": chat = .auto
        case "none": chat = .none
        case "llama3": chat = .format(.llama3)
        case "qwen2", "qwen2.5": chat = .format(.qwen2)
        default: throw ARCDataError("arc.chat must be auto, llama3, qwen2 or none")
        }
        func selection(_ split: String) -> TaskSelection {
            let sol = config.string("arc.\(split)_solutions"), count = config.int("arc.\(split)_count")
            return TaskSelection(file: config.string("arc.\(split)_file"), solutions: sol.isEmpty ? nil : sol,
                                 tasks: config.strings("arc.\(split)_tasks"), count: count > 0 ? count : nil)
        }
        train = selection("train")
        eval = selection("eval")
        // Ranges (arc.max_leave_out ≥ 1, arc.attempts 1–3, ...) are the schema's, checked when the config resolved.
        maxLeaveOut = config.int("arc.max_leave_out")
        maxExamples = config.int("arc.max_examples")
        maxTokens = config.int("arc.max_tokens")
        dataSeed = UInt64(bitPattern: Int64(config.int("arc.data_seed")))
        warmup = config.int("arc.warmup_steps")
        budget = config.int("arc.budget")
        attempts = config.int("arc.attempts")
        answerTokens = config.int("arc.answer_tokens")
        do { oracle = try ARCSelfEdit.parse(config.string("arc.oracle")) } catch let e as InvalidSelfEdit {
            throw ARCDataError("arc.oracle is not a usable self-edit: \(e.reason)")
        }
        constrainedDecoding = config.bool("arc.constrained_decoding")
        selfEditTokens = config.int("sampling.max_new_tokens")
    }
}
