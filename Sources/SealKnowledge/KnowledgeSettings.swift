import Foundation
import SealEngine

/// Which passages of a file a split takes (`knowledge.<split>_file`, `_shuffle_seed`, `_skip`, `_count`).
public struct PassageSelection: Sendable {
    /// "": the split is not configured.
    public var file: String
    /// Python's random.seed(N); random.shuffle(list) before skip and count; nil: file order.
    public var shuffleSeed: Int?
    public var skip: Int
    /// nil: all (after the skip).
    public var count: Int?
}

/// ReSTEM's training reward in this domain (`knowledge.reward`).
public enum KnowledgeReward: String, Sendable, CaseIterable {
    /// Graded greedy answers.
    case accuracy
    /// The mean per-token probability of the gold answers: a continuous proxy (the paper's Table 9).
    case answerLikelihood = "answer_likelihood"
}

/// Where a generated answer ends (`knowledge.answer_stop`).
public enum AnswerStop: String, Sendable, CaseIterable {
    /// End-of-text or `answer_tokens`, as SEAL.
    case eos
    /// Also at the first line break.
    case newline
}

/// The knowledge domain's settings (`knowledge.*`, `grader.*`), decoded and checked once; the domain takes them.
public struct KnowledgeSettings: Sendable {
    public var train: PassageSelection
    public var eval: PassageSelection
    public var retention: PassageSelection
    public var rules: SelfEditRules
    public var endWithEOS: Bool
    public var reward: KnowledgeReward
    public var answerTokens: Int
    public var answerStop: AnswerStop
    public var answerChat: Bool
    public var promptTemplate: PromptTemplate
    /// Self-edits written elsewhere (`knowledge.self_edits_file`); nil: none.
    public var selfEditsFile: String?
    /// Grade against every accepted answer (`knowledge.gold_answers = all`) rather than the first.
    public var allGolds: Bool
    public var grader: GraderSettings

    public init(_ config: ResolvedConfig) throws {
        func selection(_ split: String) throws -> PassageSelection {
            let seed = config.int("knowledge.\(split)_shuffle_seed"), count = config.int("knowledge.\(split)_count")
            if seed < -1 { throw KnowledgeDataError("knowledge.\(split)_shuffle_seed must be -1 (file order) or a seed ≥ 0") }
            return PassageSelection(file: config.string("knowledge.\(split)_file"), shuffleSeed: seed >= 0 ? seed : nil,
                                    skip: config.int("knowledge.\(split)_skip"), count: count > 0 ? count : nil)
        }
        train = try selection("train")
        eval = try selection("eval")
        retention = try selection("retention")
        rules = SelfEditRules(splitLines: config.bool("knowledge.split_lines"), empty: try config.choice("knowledge.empty_self_edit"))
        endWithEOS = config.bool("knowledge.end_with_eos")
        reward = try config.choice("knowledge.reward")
        answerTokens = config.int("knowledge.answer_tokens")
        answerStop = try config.choice("knowledge.answer_stop")
        answerChat = config.bool("knowledge.answer_chat")
        promptTemplate = try KnowledgePrompts.selfEditTemplate(name: config.string("knowledge.prompt"), template: config.string("knowledge.prompt_template"))
        let sef = config.string("knowledge.self_edits_file")
        selfEditsFile = sef.isEmpty ? nil : sef
        let golds = config.string("knowledge.gold_answers")
        guard ["first", "all"].contains(golds) else { throw KnowledgeDataError("knowledge.gold_answers must be first or all, not '\(golds)'") }
        allGolds = golds == "all"
        grader = GraderSettings(config: config)
    }
}
