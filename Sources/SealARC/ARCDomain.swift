import Foundation
import SealEngine
import SealGenerate
import SealModel
import SealTokenizer
import SealTrain

/// Few-shot ARC (SEAL's second domain): a context is an ARC task; the policy's self-edit is a JSON configuration
/// of test-time training (which augmentations make the data, which tokens carry loss, learning rate, epochs); the
/// inner loop trains a LoRA adapter on the task's own demonstrations, augmented as configured; the reward is 1
/// when the adapted model solves the task (every test output among two voted attempts), else 0.
///
/// The domain writes its own chat prompts (`arc.chat`), so that the self-edit prompt, the TTT rows and the
/// inference queries each use SEAL's system messages; `model.chat` must stay false.
///
/// The paper's arms map onto the engine's: ICL = `base` (no inner loop); Oracle TTT = `context` (the fixed
/// configuration `arc.oracle`); TTT with self-edits from the untrained policy = `self_edit` of `seal arc eval`;
/// SEAL = `seal arc train` (ReSTEM on the training tasks), whose `seal_round_N` arm evaluates the trained policy.
public final class ARCDomain: SelfEditDomain {
    public static let oracleDefault = ARCSelfEdit(augmentations: .all, strategy: .outputTokens, learningRate: 1e-4, epochs: 2).json

    public static let schema: [ConfigKey] = [
        ConfigKey("arc.train_file", .string, .string(""), "Tasks ReSTEM trains on: a Kaggle challenges file, a per-task JSON file, or a folder of them."),
        ConfigKey("arc.train_solutions", .string, .string(""), "Kaggle solutions file for arc.train_file (test outputs; needed to grade)."),
        ConfigKey("arc.train_tasks", .strings, .array([.string("seal-train")]), "Task ids (or the set names seal-train, seal-eval) to use from arc.train_file; empty: all."),
        ConfigKey("arc.train_count", .int, .int(0), "Use the first N selected training tasks (0: all).", range: .atLeast(0)),
        ConfigKey("arc.eval_file", .string, .string(""), "Held-out tasks (same layouts as arc.train_file)."),
        ConfigKey("arc.eval_solutions", .string, .string(""), "Kaggle solutions file for arc.eval_file."),
        ConfigKey("arc.eval_tasks", .strings, .array([.string("seal-eval")]), "Task ids (or set names) to use from arc.eval_file; empty: all."),
        ConfigKey("arc.eval_count", .int, .int(0), "Use the first N selected evaluation tasks (0: all).", range: .atLeast(0)),
        ConfigKey("arc.format", .string, .string("numpy"), "Grid text: numpy (SEAL's `[[0 1]\\n [2 3]]`) or compact (rows of digits).", range: .oneOf(["numpy", "compact"])),
        ConfigKey("arc.chat", .string, .string("auto"), "Prompt format: auto (the tokenizer's chat format if it has one), llama3, qwen2 or none.", range: .oneOf(["auto", "llama3", "qwen2", "qwen2.5", "none"])),
        ConfigKey("arc.max_leave_out", .int, .int(2), "TTT data: leave-one-out up to leave-N-out tasks (SEAL: 2).", range: .ints(1, 64)),
        ConfigKey("arc.max_examples", .int, .int(250), "TTT data: at most this many examples (a seeded sample beyond it).", range: .ints(1, 1_000_000)),
        ConfigKey("arc.max_tokens", .int, .int(8192), "TTT data: examples of this many tokens or more are dropped (also capped by the model's context).", range: .ints(2, 1 << 24)),
        ConfigKey("arc.data_seed", .int, .int(0), "Seed of the TTT data (with the task id; the same for every self-edit of a task, as in SEAL).", range: .anyInt),
        ConfigKey("arc.warmup_steps", .int, .int(11), "Warmup steps of the TTT schedule (SEAL: 11).", range: .ints(0, 1_000_000)),
        ConfigKey("arc.budget", .int, .int(375), "A self-edit with num_train_epochs × examples / 2 above this trains nothing (reward 0).", range: .ints(1, 1 << 30)),
        ConfigKey("arc.attempts", .int, .int(2), "Voted attempts per test input (1–3).", range: .ints(1, 3)),
        ConfigKey("arc.answer_tokens", .int, .int(0), "Longest answer in tokens (0: twice the longest demonstration output or test input).", range: .ints(0, 1 << 20)),
        ConfigKey("arc.oracle", .string, .string(oracleDefault), "The fixed self-edit of the Oracle TTT arm (eval arm `context`)."),
        ConfigKey("arc.constrained_decoding", .bool, .bool(false), "Sample self-edits under the self-edit grammar (docs/ARC.md), so every one parses; false: free sampling, as SEAL (an unparseable self-edit earns 0)."),
    ]

    public let settings: ARCSettings
    public let format: GridFormat
    public let chat: ARCChat
    public let tokenizer: Tokenizer
    let train: [ARCTask]
    let eval: [ARCTask]
    let byID: [String: ARCTask]
    let maxLeaveOut: Int
    let maxExamples: Int
    let tokenLimit: Int
    let dataSeed: UInt64
    let warmup: Int
    let budget: Int
    let attempts: Int
    let answerTokens: Int
    let oracle: ARCSelfEdit
    /// The self-edit grammar over the tokenizer's vocabulary when `arc.constrained_decoding` is on.
    public let constraint: RegularConstraint?
    /// TTT examples per (task, augmentation switches): every self-edit of a task with the same switches gets the
    /// same data, so it is built once.
    var dataCache: [String: [TTTExample]] = [:]

    /// The domain of a resolved configuration's `arc.*` keys.
    public convenience init(config: ResolvedConfig) throws {
        try self.init(settings: try ARCSettings(config))
    }

    /// Reads the tasks, then the tokenizer (settings were checked first: the first error reported is the cheapest
    /// found).
    public init(settings s: ARCSettings) throws {
        settings = s
        format = s.format
        maxLeaveOut = s.maxLeaveOut
        maxExamples = s.maxExamples
        dataSeed = s.dataSeed
        warmup = s.warmup
        budget = s.budget
        attempts = s.attempts
        answerTokens = s.answerTokens
        oracle = s.oracle

        func load(_ split: String, _ sel: TaskSelection) throws -> [ARCTask] {
            let path = sel.file
            if path.isEmpty { return [] }
            let loaded = try ARCData.load(path, solutions: sel.solutions)
            // A split with no task would run nothing and exit 0: an error naming the file.
            let file = "arc.\(split)_file", ids = "arc.\(split)_tasks"
            if loaded.isEmpty { throw ARCDataError("\(path) (\(file)): no tasks in it") }
            var tasks = try ARCSets.select(sel.tasks, from: loaded, source: "\(ids) (\(path))")
            if let n = sel.count { tasks = Array(tasks.prefix(n)) }
            if tasks.isEmpty { throw ARCDataError("\(path) (\(file)): \(ids) selects no task") }
            for t in tasks where !t.hasSolutions {
                throw ARCDataError("\(path): task \(t.id) has no test output to grade against (give arc.\(split)_solutions)")
            }
            return tasks
        }
        train = try load("train", s.train)
        eval = try load("eval", s.eval)
        var index: [String: ARCTask] = [:]
        for t in train + eval {
            if let other = index[t.id], other != t { throw ARCDataError("task \(t.id) appears in both splits with different contents") }
            index[t.id] = t
        }
        byID = index

        let modelDir = URL(fileURLWithPath: s.modelPath)
        tokenizer = try Tokenizer(model: modelDir)
        let modelConfig = try ModelConfig.load(model: modelDir)
        tokenLimit = min(s.maxTokens, modelConfig.maxPositionEmbeddings)
        switch s.chat {
        case .format(let f):
            guard tokenizer.tokenID(f.endOfTurn) != nil else { throw ARCDataError("arc.chat = \(s.chatName): the tokenizer has no \(f.endOfTurn) token") }
            chat = .chat(f)
        case .auto: chat = ChatFormat.detect(tokenizer).map { .chat($0) } ?? .none
        case .none: chat = .none
        }
        if s.constrainedDecoding {
            let c = try ARCSelfEditGrammar.constraint(for: tokenizer)
            if c.fewestTokens > s.selfEditTokens {
                throw ARCDataError("arc.constrained_decoding: the shortest self-edit takes \(c.fewestTokens) tokens of this tokenizer, more than sampling.max_new_tokens = \(s.selfEditTokens)")
            }
            constraint = c
        } else {
            constraint = nil
        }
    }

    public func task(_ id: String) throws -> ARCTask {
        guard let t = byID[id] else { throw ARCDataError("unknown ARC task \(id)") }
        return t
    }

    // MARK: SelfEditDomain

    public func contexts(split: String) throws -> [ContextInfo] {
        guard split == "train" || split == "eval" else { throw ARCDataError("unknown split '\(split)' (train or eval)") }
        let tasks = split == "train" ? train : eval
        if tasks.isEmpty { throw ARCDataError("arc.\(split)_file is not set: this run needs the \(split) split's tasks") }
        // Inner-loop cost grows with the TTT data: (leave-n tasks) × (cells per example).
        return tasks.map { t in
            let cells = t.grids.reduce(0) { $0 + $1.rows * $1.cols }
            return ContextInfo(id: t.id, cost: Double(t.train.count * t.train.count * cells))
        }
    }

    public func selfEditPrompt(contextID: String) throws -> String {
        ARCPrompts.selfEditPrompt(try task(contextID), chat: chat)
    }

    public func innerLoopPlan(contextID: String, selfEdit: String) throws -> InnerLoopPlan {
        try plan(try task(contextID), ARCSelfEdit.parse(selfEdit), checkBudget: true)
    }

    public func selfEditConstraint() throws -> (any DecodingConstraint)? { constraint }

    public func contextOnlyPlan(contextID: String) throws -> InnerLoopPlan? {
        try plan(try task(contextID), oracle, checkBudget: false)
    }

    public func reinforcementPair(contextID: String, selfEdit: String) throws -> TextExample {
        TextExample(prompt: try selfEditPrompt(contextID: contextID), completion: selfEdit + chat.endOfTurn,
                    promptSpecialTokens: chat.promptSpecialTokens)
    }

    /// ARC's reward and evaluation are the same measure (the task solved); `purpose` changes nothing.
    public func evaluate(contextID: String, with m: ScoredModel, purpose: EvaluationPurpose) throws -> Evaluation {
        let t = try task(contextID)
        let result = try solve(t, with: m)
        var prediction: [String] = []
        for (k, a) in result.attempts.enumerated() {
            var line = "test \(k): \(result.parsed[k]) of \(result.asked[k]) answers parsed"
            for (j, g) in a.enumerated() { line += "; attempt \(j + 1): " + format.render(g) }
            prediction.append(line)
        }
        let gold = t.test.map { $0.output.map { format.render($0) } ?? "?" }.joined(separator: "\n\n")
        let item = GradedItem(question: "task \(t.id) (\(t.test.count) test input\(t.test.count == 1 ? "" : "s"))", gold: gold,
                              prediction: prediction.joined(separator: "\n"), correct: result.solved)
        return Evaluation(score: result.solved ? 1 : 0, items: [item])
    }

    // MARK: TTT data and inference

    /// The inner-loop plan of a self-edit: SEAL's TTT data under its switches, its loss strategy, learning rate
    /// and epochs. Throws InvalidSelfEdit when no example fits the token limit or the budget is exceeded.
    public func plan(_ t: ARCTask, _ edit: ARCSelfEdit, checkBudget: Bool) throws -> InnerLoopPlan {
        let examples = try tttExamples(t, edit.augmentations)
        if examples.isEmpty { throw InvalidSelfEdit("no TTT example of task \(t.id) fits in \(tokenLimit) tokens") }
        if checkBudget, let reason = edit.overBudget(examples: examples.count, budget: budget) { throw InvalidSelfEdit(reason) }
        return InnerLoopPlan(rows: rows(examples), lossOn: edit.strategy == .allTokens ? .all : .completion,
                             learningRate: edit.learningRate, epochs: Double(edit.epochs), warmupSteps: warmup)
    }

    /// The TTT examples of a task under augmentation switches (filtered by the token limit, capped).
    public func tttExamples(_ t: ARCTask, _ switches: AugmentationSwitches) throws -> [TTTExample] {
        let key = "\(t.id)|\(switches.basic)|\(switches.size)|\(switches.chain)|\(switches.repeat)"
        if let c = dataCache[key] { return c }
        let builder = TTTDataBuilder(switches: switches, leaveN: Array(1...maxLeaveOut), maxExamples: maxExamples,
                                     seed: dataSeed ^ Seeds.hash(t.id))
        let limit = tokenLimit
        let examples = builder.examples(t) { ex in
            let p = ARCPrompts.query(demos: ex.demos, input: ex.query.input, output: ex.query.output, format: format, chat: chat)
            // A token is at least one byte (byte-level and byte-fallback BPE), so short texts need no tokenizing.
            if p.prompt.utf8.count + p.completion.utf8.count + 8 < limit { return true }
            return chat.encode(p.prompt, with: tokenizer).count + tokenizer.encode(p.completion, addSpecialTokens: false).count < limit
        }
        dataCache[key] = examples
        return examples
    }

    /// TTT examples as training rows: the query's prompt, and its answer as the completion.
    public func rows(_ examples: [TTTExample]) -> [TextExample] {
        examples.map { ex in
            let p = ARCPrompts.query(demos: ex.demos, input: ex.query.input, output: ex.query.output, format: format, chat: chat)
            return TextExample(prompt: p.prompt, completion: p.completion, promptSpecialTokens: chat.promptSpecialTokens)
        }
    }

    /// What inference did for a task: per test input, the voted attempts, how many queries were asked and how
    /// many answers parsed; and whether the task is solved.
    public struct Solution: Sendable {
        public var attempts: [[Grid]]
        public var asked: [Int]
        public var parsed: [Int]
        public var solved: Bool
    }

    /// One inference query: which test input, under which transformation, and the prompt text.
    public struct Query: Sendable {
        public var test: Int
        public var transform: Augmentation
        public var prompt: String
    }

    /// The queries of a task: every test input under the identity and the five invertible transformations.
    public func queries(_ t: ARCTask) -> [Query] {
        t.test.indices.flatMap { k in
            ARCVoting.queries(t, test: k).map { q in
                Query(test: k, transform: q.transform,
                      prompt: ARCPrompts.query(demos: q.demos, input: q.input, output: nil, format: format, chat: chat).prompt)
            }
        }
    }

    /// Maps answers (nil: not asked) back through their query's transformation, votes, and grades.
    public func grade(_ t: ARCTask, queries: [Query], answers: [String?]) -> Solution {
        var parsed = [[ARCVoting.Answer]](repeating: [], count: t.test.count)
        var asked = [Int](repeating: 0, count: t.test.count)
        for (q, a) in zip(queries, answers) {
            asked[q.test] += 1
            if let a, let g = format.parseAnswer(a), let back = q.transform.invert(g) {
                parsed[q.test].append(ARCVoting.Answer(transform: q.transform, grid: back))
            }
        }
        let voted = parsed.map { ARCVoting.vote($0, attempts: attempts) }
        return Solution(attempts: voted, asked: asked, parsed: parsed.map(\.count), solved: ARCVoting.solved(t, attempts: voted))
    }

    /// Greedy answers to every query of every test input (one batch, stopping at `#`), mapped back and voted. A
    /// query whose prompt leaves no room for an answer in the model's context is not asked.
    public func solve(_ t: ARCTask, with m: ScoredModel) throws -> Solution {
        let ctx = m.model.config.maxPositionEmbeddings
        let answerLimit = answerTokens > 0 ? answerTokens : autoAnswerTokens(t, m.tokenizer)
        let qs = queries(t)
        var requests: [GenerationRequest] = []
        var requestOf: [Int: Int] = [:]
        for (i, q) in qs.enumerated() {
            let ids = chat.encode(q.prompt, with: m.tokenizer).map(Int32.init)
            if ids.count + answerLimit > ctx { continue }
            requestOf[i] = requests.count
            requests.append(GenerationRequest(prompt: ids))
        }
        var texts = [String?](repeating: nil, count: qs.count)
        if !requests.isEmpty {
            if case .chat(let f) = chat, let eot = m.tokenizer.tokenID(f.endOfTurn) { m.generator.eosTokenIDs.insert(eot) }
            let out = try m.generator.generate(requests, params: SamplingParams(temperature: 0, maxNewTokens: answerLimit, stop: ["#"]))
            for (i, r) in requestOf { texts[i] = out[r].text }
        }
        return grade(t, queries: qs, answers: texts)
    }

    /// Twice the tokens of the longest rendered demonstration output or test input, plus the end mark.
    func autoAnswerTokens(_ t: ARCTask, _ tok: Tokenizer) -> Int {
        let grids = t.train.map(\.output) + t.test.map(\.input)
        let longest = grids.map { tok.encode(format.render($0) + "#", addSpecialTokens: false).count }.max() ?? 1
        return 2 * longest + 8
    }
}
