import Foundation
import SealEngine
import SealGenerate
import SealModel
import SealTokenizer
import SealTrain

/// The knowledge-incorporation domain: a self-edit is the policy's notes on a passage; the inner loop trains on
/// them (plus the passage); the reward is how well the adapted model answers the passage's questions without
/// seeing it.
public final class KnowledgeDomain: SelfEditDomain {
    public static let schema: [ConfigKey] = [
        ConfigKey("knowledge.train_file", .string, .string(""), "Passages ReSTEM trains on: SEAL's schema (a JSON list of {title, context, questions}) or the official SQuAD v1.1 layout (data → paragraphs → qas → answers)."),
        ConfigKey("knowledge.train_shuffle_seed", .int, .int(-1), "Shuffle the training passages as Python's random.seed(N); random.shuffle(list) does before skip/count (-1: file order).", range: .atLeast(-1)),
        ConfigKey("knowledge.train_skip", .int, .int(0), "Skip the first N training passages (after the shuffle).", range: .atLeast(0)),
        ConfigKey("knowledge.train_count", .int, .int(0), "Use the first N training passages (after shuffle and skip; 0: all).", range: .atLeast(0)),
        ConfigKey("knowledge.eval_file", .string, .string(""), "Held-out passages (either layout). SEAL's evaluation set: squad_val.json with eval_shuffle_seed = 42, eval_count = 200."),
        ConfigKey("knowledge.eval_shuffle_seed", .int, .int(-1), "Shuffle the evaluation passages as Python's random.seed(N); random.shuffle(list) does before skip/count (-1: file order).", range: .atLeast(-1)),
        ConfigKey("knowledge.eval_count", .int, .int(0), "Use the first N evaluation passages (after shuffle and skip; 0: all).", range: .atLeast(0)),
        ConfigKey("knowledge.eval_skip", .int, .int(0), "Skip the first N evaluation passages (keeps train and eval apart when both read one file).", range: .atLeast(0)),
        ConfigKey("knowledge.retention_file", .string, .string(""), "Passages the starting policy already knows (either layout), asked without adaptation as arms retention_round_N when eval.retention is on: what the policy updates made it forget (the toy world: world/known_qa.json)."),
        ConfigKey("knowledge.retention_shuffle_seed", .int, .int(-1), "Shuffle the retention passages as Python's random.seed(N); random.shuffle(list) does before skip/count (-1: file order).", range: .atLeast(-1)),
        ConfigKey("knowledge.retention_count", .int, .int(0), "Use the first N retention passages (after shuffle and skip; 0: all).", range: .atLeast(0)),
        ConfigKey("knowledge.retention_skip", .int, .int(0), "Skip the first N retention passages.", range: .atLeast(0)),
        ConfigKey("knowledge.self_edits_file", .string, .string(""), "Self-edits written elsewhere, per passage (a SEAL synthetic-data file: {title, context, completions}), e.g. gpt4_1_val.json; looked up by title and text."),
        ConfigKey("knowledge.prompt", .string, .string("implications"), "Self-edit prompt: implications, implications-long, implications-very-long, rewrite or self-qa (SEAL's texts).", range: .oneOf(KnowledgePrompts.selfEditTemplates.keys.sorted())),
        ConfigKey("knowledge.prompt_template", .string, .string(""), "Own self-edit prompt replacing knowledge.prompt: text with {title} and {context} ({{ and }} for literal braces)."),
        ConfigKey("knowledge.split_lines", .bool, .bool(true), "Each non-empty line of a self-edit is its own training sequence (SEAL's --split_newlines, its setting for every evaluation; self-QA completions are cut at each 'Question N:' instead). false: each '---' segment is one sequence (SEAL's CPT runs)."),
        ConfigKey("knowledge.empty_self_edit", .string, .string("train"), "An empty (all-whitespace) self-edit: train (through the rule like any other: the passage alone with split_lines, as SEAL's naive arm), invalid (reward 0, recorded, never kept: SEAL's query_server drops empty completions) or context (the passage's text stands in for it: SEAL's continual_self_edits.py).", range: .oneOf(EmptySelfEditPolicy.allCases.map(\.rawValue))),
        ConfigKey("knowledge.end_with_eos", .bool, .bool(false), "Each training sequence ends with an EOS target. SEAL pads every sequence to 2048 tokens with EOS and trains on the padding; its one informative target is the first EOS (where the text stops), which this keeps without the padding. The paper's knowledge jobs set it."),
        ConfigKey("knowledge.reward", .string, .string("accuracy"), "ReSTEM's training reward: accuracy (graded greedy answers) or answer_likelihood (mean per-token probability of the gold answers: a continuous proxy, the paper's Table 9). Evaluation arms always report graded answers and accuracy, whatever the reward.", range: .oneOf(["accuracy", "answer_likelihood"])),
        ConfigKey("knowledge.answer_chat", .bool, .bool(false), "Ask the questions as the user turn of the model's chat format (its tokenizer's: ChatML, Qwen2.5 or Llama-3), each answer ending at the format's end-of-turn; false: SEAL's plain question prompt (its base-model setting). For instruct models; the reward's likelihood proxy asks the same way."),
        ConfigKey("knowledge.answer_stop", .string, .string("eos"), "Where a generated answer ends: eos (end-of-text or answer_tokens, as SEAL; the grader was calibrated on such answers) or newline (also at the first line break).", range: .oneOf(["eos", "newline"])),
        ConfigKey("knowledge.answer_tokens", .int, .int(64), "Longest generated answer.", range: .ints(1, 1 << 20)),
        ConfigKey("knowledge.gold_answers", .string, .string("first"), "Which gold answers an answer is graded against: first (SEAL's: one per question) or all (any accepted answer of the official SQuAD layout).", range: .oneOf(["first", "all"])),
    ] + GraderSettings.schema.map(KnowledgeDomain.graderRange)

    /// The ranges of the `grader.*` keys (GraderSettings defines them; the values they accept are set here, with
    /// every other key's).
    static func graderRange(_ k: ConfigKey) -> ConfigKey {
        switch k.name {
        case "grader.kind": return k.ranged(.oneOf(["local", "contains", "llm", "http"]))
        case "grader.chat": return k.ranged(.oneOf(["auto", "on", "off"]))
        case "grader.max_tokens": return k.ranged(.ints(1, 4096))
        case "grader.timeout": return k.ranged(.positive(atMost: 86_400))
        default: return k
        }
    }

    public let settings: KnowledgeSettings
    let train: [Passage]
    let eval: [Passage]
    /// Passages the starting policy knows (`knowledge.retention_file`), for the retention arms.
    let retention: [Passage]
    let byID: [String: Passage]
    let selfEditFile: SelfEditFile?
    /// Decides whether an answer is correct (`grader.*` keys).
    public let grader: AnswerGrading

    var rules: SelfEditRules { settings.rules }
    var allGolds: Bool { settings.allGolds }

    /// The domain of a resolved configuration's `knowledge.*` and `grader.*` keys.
    public convenience init(config: ResolvedConfig) throws {
        try self.init(settings: try KnowledgeSettings(config))
    }

    /// Reads the splits' passages, the self-edit file and makes the grader.
    public init(settings: KnowledgeSettings) throws {
        self.settings = settings
        func load(_ split: String, _ sel: PassageSelection, prefix: String) throws -> [Passage] {
            let f = sel.file
            if f.isEmpty { return [] }
            let all = try KnowledgeData.load(f)
            let ps = KnowledgeData.select(all, shuffleSeed: sel.shuffleSeed, skip: sel.skip, count: sel.count ?? 0)
            // A split with no passage would run nothing and exit 0: an error naming the file (and the filter).
            if all.isEmpty { throw KnowledgeDataError("\(f) (knowledge.\(split)_file): no passages in the file") }
            if ps.isEmpty {
                throw KnowledgeDataError("\(f) (knowledge.\(split)_file): knowledge.\(split)_skip = \(sel.skip) leaves no passage of the file's \(all.count)")
            }
            return ps.map { var p = $0; p.id = prefix + p.id; return p }
        }
        train = try load("train", settings.train, prefix: "train/")
        eval = try load("eval", settings.eval, prefix: "eval/")
        retention = try load("retention", settings.retention, prefix: "retention/")
        byID = Dictionary(uniqueKeysWithValues: (train + eval + retention).map { ($0.id, $0) })
        selfEditFile = try settings.selfEditsFile.map { try SelfEditFile(path: $0) }
        grader = try settings.grader.makeGrader()
    }

    func passage(_ id: String) throws -> Passage {
        guard let p = byID[id] else { throw KnowledgeDataError("unknown context id \(id)") }
        return p
    }

    /// The passages of a split, after shuffle, skip and count.
    public func passages(split: String) -> [Passage] { split == "train" ? train : split == "retention" ? retention : eval }

    public func contexts(split: String) throws -> [ContextInfo] {
        guard ["train", "eval", "retention"].contains(split) else { throw KnowledgeDataError("unknown split '\(split)' (train, eval or retention)") }
        if passages(split: split).isEmpty {
            throw KnowledgeDataError("knowledge.\(split)_file is not set: this run needs the \(split) split's passages")
        }
        return passages(split: split).map { ContextInfo(id: $0.id, cost: Double($0.context.count) * Double(max(1, $0.questions.count))) }
    }

    public func selfEditPrompt(contextID: String) throws -> String {
        let p = try passage(contextID)
        return settings.promptTemplate.render(["title": p.title, "context": p.context])
    }

    /// The self-edits `knowledge.self_edits_file` holds for a passage (the "passage + self-edits from a file" arm,
    /// e.g. GPT-4.1's implications); an error when no file is configured or it lacks the passage.
    public func externalSelfEdits(contextID: String) throws -> [String]? {
        guard let f = selfEditFile else { throw KnowledgeDataError("knowledge.self_edits_file is not set") }
        return try f.completions(for: try passage(contextID))
    }

    /// The share of the passage's questions one of whose gold answers appears in the self-edit (normalised tokens,
    /// adjacent and in order: the containment grader's rule applied to the self-edit instead of an answer).
    public func selfEditCoverage(contextID: String, selfEdit: String) throws -> Double? {
        let p = try passage(contextID)
        guard !p.questions.isEmpty else { return nil }
        let covered = p.questions.filter { q in
            (allGolds ? q.answers : [q.answer]).contains { AnswerGrader.isCorrect(prediction: selfEdit, gold: $0) }
        }.count
        return Double(covered) / Double(p.questions.count)
    }

    public func innerLoopPlan(contextID: String, selfEdit: String) throws -> InnerLoopPlan {
        let p = try passage(contextID)
        let seqs = try rules.sequences(selfEdit: selfEdit, title: p.title, context: p.context)
        return InnerLoopPlan(rows: seqs.map { TextExample(text: $0) }, lossOn: .all, appendEOS: settings.endWithEOS)
    }

    public func evaluate(contextID: String, with m: ScoredModel, purpose: EvaluationPurpose) throws -> Evaluation {
        let p = try passage(contextID)
        let texts = p.questions.map { KnowledgePrompts.question(title: p.title, question: $0.question) }
        var chat: ChatFormat? = nil
        if settings.answerChat {
            guard let f = ChatFormat.detect(m.tokenizer) else {
                throw KnowledgeDataError("knowledge.answer_chat is true but the model's tokenizer has no known chat format (ChatML, Qwen2.5 or Llama-3)")
            }
            chat = f
            if let eot = m.tokenizer.tokenID(f.endOfTurn) { m.generator.eosTokenIDs.insert(eot) }
        }
        let prompts: [[Int32]] = texts.map { t in
            (chat.map { $0.encode($0.prompt(user: t), with: m.tokenizer) } ?? m.tokenizer.encode(t)).map(Int32.init)
        }
        // The proxy is a training reward only: evaluation arms always grade the model's answers.
        if purpose == .reward && settings.reward == .answerLikelihood {
            var total = 0.0
            var items: [GradedItem] = []
            for (i, q) in p.questions.enumerated() {
                let prompt = prompts[i]
                let answer = m.tokenizer.encode(" " + q.answer, addSpecialTokens: false).map(Int32.init)
                let nll = try m.model.tokenNLL(prompt + answer, lora: m.lora)
                let ans = nll.suffix(answer.count)
                let prob = exp(-ans.reduce(0, +) / Double(max(1, ans.count)))
                total += prob
                items.append(GradedItem(question: q.question, gold: q.answer, prediction: String(format: "%.6f", prob), correct: prob > 0.5))
            }
            return Evaluation(score: total / Double(max(1, p.questions.count)), items: items)
        }
        let requests = prompts.map { GenerationRequest(prompt: $0) }
        // SEAL's answers end at end-of-text or 64 tokens (the grader was calibrated on those); "newline" stops at the
        // first line break, cheaper for models that go on with the next question.
        let stop = settings.answerStop == .newline ? ["\n"] : []
        let out = try m.generator.generate(requests, params: SamplingParams(temperature: 0, maxNewTokens: settings.answerTokens, stop: stop))
        return try gradeAnswers(contextID: contextID, predictions: out.map(\.text))
    }

    /// Grades answers to a passage's questions (in question order) with the configured grader.
    public func gradeAnswers(contextID: String, predictions: [String]) throws -> Evaluation {
        let p = try passage(contextID)
        guard predictions.count == p.questions.count else {
            throw KnowledgeDataError("\(contextID): \(predictions.count) answers for \(p.questions.count) questions")
        }
        let verdicts = try grader.grade(p.questions.enumerated().map { i, q in
            GradeItem(question: q.question, golds: allGolds ? q.answers : [q.answer], prediction: predictions[i])
        })
        var correct = 0
        var items: [GradedItem] = []
        for (i, q) in p.questions.enumerated() {
            let ok = verdicts[i].correct
            if ok { correct += 1 }
            let v = verdicts[i]
            let note = v.raw.map { (v.parsed ? "judge: " : "judge (unparsed): ") + $0 } ?? ""
            items.append(GradedItem(question: q.question, gold: allGolds ? q.answers.joined(separator: " | ") : q.answer, prediction: predictions[i], correct: ok, note: note))
        }
        return Evaluation(score: Double(correct) / Double(max(1, p.questions.count)), items: items)
    }

    public func contextOnlyPlan(contextID: String) throws -> InnerLoopPlan? {
        let p = try passage(contextID)
        return InnerLoopPlan(rows: [TextExample(text: SelfEditRules.passageSequence(title: p.title, context: p.context))], lossOn: .all,
                             appendEOS: settings.endWithEOS)
    }

    public func reinforcementPair(contextID: String, selfEdit: String) throws -> TextExample {
        TextExample(prompt: try selfEditPrompt(contextID: contextID), completion: selfEdit)
    }
}
