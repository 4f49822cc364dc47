import Foundation
import SealGenerate
import SealModel
import SealTokenizer
import SealTrain

/// A context the policy writes self-edits about (a passage, an ARC task), with the engine's estimate of what its
/// inner loops cost (used to balance ranks).
public struct ContextInfo: Sendable, Equatable {
    public var id: String
    public var cost: Double
    public init(id: String, cost: Double) { self.id = id; self.cost = cost }
}

/// What a self-edit becomes in the inner loop: training rows and, where the self-edit chose them, hyperparameters.
public struct InnerLoopPlan: Sendable {
    public var rows: [TextExample]
    public var lossOn: LossOn
    /// Overrides of the run's inner-loop recipe (few-shot ARC self-edits choose their own).
    public var learningRate: Double?
    public var epochs: Double?
    /// Warmup steps of the inner loop's schedule (SEAL's ARC TTT warms up for 11 steps); nil: none.
    public var warmupSteps: Int?
    /// Each row ends with an EOS target (the model learns where a sequence stops): the one informative target of
    /// the EOS padding SEAL's knowledge inner loop trains on.
    public var appendEOS: Bool
    public init(rows: [TextExample], lossOn: LossOn = .all, learningRate: Double? = nil, epochs: Double? = nil, warmupSteps: Int? = nil,
                appendEOS: Bool = false) {
        self.rows = rows; self.lossOn = lossOn; self.learningRate = learningRate; self.epochs = epochs; self.warmupSteps = warmupSteps
        self.appendEOS = appendEOS
    }
}

/// A self-edit the model wrote that cannot be used (does not parse, yields no training data, is over budget).
/// It is data, not a failure: it earns reward 0 and is recorded with this reason, and the run goes on.
public struct InvalidSelfEdit: Error, CustomStringConvertible {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}

/// One graded question (or task output) of an evaluation.
public struct GradedItem: Sendable {
    public var question: String
    public var gold: String
    public var prediction: String
    public var correct: Bool
    /// The grader's words beyond the verdict (a judge's raw reply), recorded in the metrics file's `note` column.
    public var note: String
    public init(question: String, gold: String, prediction: String, correct: Bool, note: String = "") {
        self.question = question; self.gold = gold; self.prediction = prediction; self.correct = correct; self.note = note
    }
}

/// What a score is for: the reward that trains ReSTEM's policy (a domain may use a proxy for it, e.g. the
/// likelihood of the gold answers), or an evaluation arm's figure (always the task's own measure — graded answers
/// — so that a proxy-reward run sits beside the paper's table).
public enum EvaluationPurpose: Sendable {
    case reward
    case evaluation
}

/// A model's score on one context's task.
public struct Evaluation: Sendable {
    /// Accuracy (evaluation), or the reward signal (accuracy or a continuous proxy); higher is better.
    public var score: Double
    public var items: [GradedItem]
    public init(score: Double, items: [GradedItem]) { self.score = score; self.items = items }
}

/// The model being scored: the current policy weights, optionally with an inner-loop adapter on top.
public struct ScoredModel {
    public var model: TransformerModel
    public var lora: LoRAAdapter?
    public var tokenizer: Tokenizer
    public var generator: Generator
    public init(model: TransformerModel, lora: LoRAAdapter?, tokenizer: Tokenizer, generator: Generator) {
        self.model = model; self.lora = lora; self.tokenizer = tokenizer; self.generator = generator
    }
}

/// What a domain supplies to the ReSTEM engine. A domain never touches MPI or HDF5: the engine shards, gathers,
/// records and writes; the domain only knows its contexts, prompts, data and grading.
public protocol SelfEditDomain: AnyObject {
    /// Contexts of a split ("train" for ReSTEM rounds, "eval" for the held-out evaluation).
    func contexts(split: String) throws -> [ContextInfo]
    /// The prompt the policy completes to write a self-edit for this context (before tokenization).
    func selfEditPrompt(contextID: String) throws -> String
    /// The inner loop's training data (and recipe) for a self-edit; throws InvalidSelfEdit when unusable.
    func innerLoopPlan(contextID: String, selfEdit: String) throws -> InnerLoopPlan
    /// Scores a model on the context's downstream task, for a reward or for an evaluation arm.
    func evaluate(contextID: String, with m: ScoredModel, purpose: EvaluationPurpose) throws -> Evaluation
    /// The supervised pair that reinforces a kept self-edit.
    func reinforcementPair(contextID: String, selfEdit: String) throws -> TextExample
    /// The inner loop of the "train on the context itself" arm (the passage alone), or nil if the domain has none.
    func contextOnlyPlan(contextID: String) throws -> InnerLoopPlan?
    /// Self-edits written outside the run (e.g. GPT-4.1's), or nil when the domain has none (default).
    func externalSelfEdits(contextID: String) throws -> [String]?
    /// What the policy's self-edits may contain while they are sampled (constrained decoding), or nil: free
    /// sampling (default). The engine attaches it to every self-edit request; the domain owns the grammar.
    func selfEditConstraint() throws -> (any DecodingConstraint)?
    /// How much of what the context's task asks a self-edit states, in [0, 1] (knowledge: the share of the
    /// passage's questions whose gold answer appears in it), or nil when the domain has no such measure (default).
    /// Recorded beside rewards (round and arm attributes), never used to train: it shows what RL changed in writing.
    func selfEditCoverage(contextID: String, selfEdit: String) throws -> Double?
}

extension SelfEditDomain {
    public func selfEditCoverage(contextID: String, selfEdit: String) throws -> Double? { nil }
}

extension SelfEditDomain {
    /// Self-edits written outside the run (e.g. GPT-4.1's, read from a file) for a context, or nil when the domain
    /// has none. Used by continued pretraining with `cpt.source = "external"`.
    public func externalSelfEdits(contextID: String) throws -> [String]? { nil }
}

extension SelfEditDomain {
    /// Free sampling: no constraint on self-edits.
    public func selfEditConstraint() throws -> (any DecodingConstraint)? { nil }
}
