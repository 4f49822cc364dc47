import Foundation
import SealEngine
import SealGenerate
import SealModel
import SealTokenizer
import SealTrain

/// A passage and the questions that test whether a model absorbed it (SEAL's schema of SQuAD).
public struct Passage: Sendable, Equatable {
    public var id: String
    public var title: String
    public var context: String
    public var questions: [(question: String, answer: String)]

    public static func == (a: Passage, b: Passage) -> Bool {
        a.id == b.id && a.title == b.title && a.context == b.context && a.questions.map(\.question) == b.questions.map(\.question)
            && a.questions.map(\.answer) == b.questions.map(\.answer)
    }
}

public struct KnowledgeDataError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

public enum KnowledgeData {
    /// Reads SEAL's schema: a JSON list of `{title, context, questions: [{question, answer}]}`; entry i gets the
    /// id "p<i>" (its index in the file). Missing fields or wrong types are errors naming the entry.
    public static func loadSEAL(_ path: String) throws -> [Passage] {
        guard let data = FileManager.default.contents(atPath: path) else { throw KnowledgeDataError(message: "\(path): cannot read") }
        guard let list = (try? JSONSerialization.jsonObject(with: data)) as? [Any] else {
            throw KnowledgeDataError(message: "\(path): expected a JSON list of passages")
        }
        return try list.enumerated().map { i, any in
            guard let e = any as? [String: Any] else { throw KnowledgeDataError(message: "\(path): entry \(i) is not an object") }
            guard let title = e["title"] as? String else { throw KnowledgeDataError(message: "\(path): entry \(i): missing string 'title'") }
            guard let context = e["context"] as? String, !context.isEmpty else { throw KnowledgeDataError(message: "\(path): entry \(i): missing or empty 'context'") }
            guard let qs = e["questions"] as? [Any] else { throw KnowledgeDataError(message: "\(path): entry \(i): missing list 'questions'") }
            let questions = try qs.enumerated().map { j, q -> (question: String, answer: String) in
                guard let d = q as? [String: Any], let qq = d["question"] as? String, let a = d["answer"] as? String else {
                    throw KnowledgeDataError(message: "\(path): entry \(i) question \(j): needs string 'question' and 'answer'")
                }
                if a.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
                    throw KnowledgeDataError(message: "\(path): entry \(i) question \(j): empty gold answer")
                }
                return (qq, a)
            }
            return Passage(id: "p\(i)", title: title, context: context, questions: questions)
        }
    }
}

/// SEAL's prompts and the rules that turn a self-edit into training sequences.
public enum KnowledgePrompts {
    /// The `implications` self-edit prompt (verbatim from SEAL's data files).
    public static func implications(title: String, context: String) -> String {
        "Let's read the following passage and produce a list of implications derived directly or indirectly from the content.\n\nPassage:\n\(title)\n\(context)\n\nImplications:\n"
    }

    /// The `rewrite` self-edit prompt (verbatim from SEAL's alternate-prompt data files).
    public static func rewrite(title: String, context: String) -> String {
        "Let's read the following passage and rewrite it in a few different ways, each one separated by a newline.\n\nPassage:\n\(title)\n\(context)\n\nRewritten passages:\n"
    }

    /// The no-passage question prompt.
    public static func question(title: String, question: String) -> String {
        "Let's answer a question directly and concisely.\nQuestion: Topic: \(title)\n\(question)\nAnswer:"
    }

    /// Self-edit → training sequences: split on `---`; with `splitLines` each non-empty line is its own sequence
    /// (a leading preamble line is dropped when the next starts with "1."); each is "{title}\n{segment}"; the
    /// passage itself is always one more sequence. Throws InvalidSelfEdit when the self-edit yields nothing.
    public static func sequences(selfEdit: String, title: String, context: String, splitLines: Bool) throws -> [String] {
        var segments: [String] = []
        for part in selfEdit.components(separatedBy: "---") {
            let trimmed = part.trimmingCharacters(in: .whitespacesAndNewlines)
            if trimmed.isEmpty { continue }
            if splitLines {
                var lines = trimmed.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
                if lines.count > 1, lines[1].hasPrefix("1."), !lines[0].hasPrefix("1.") { lines.removeFirst() }
                segments += lines
            } else {
                segments.append(trimmed)
            }
        }
        if segments.isEmpty { throw InvalidSelfEdit("self-edit yields no training sequence") }
        return segments.map { "\(title)\n\($0)" } + ["\(title)\n\(context)"]
    }
}

/// Normalisation and matching for short answers (SQuAD style): lower case, no punctuation, no articles, single
/// spaces. A prediction is correct when the normalised gold answer appears in the normalised prediction.
public enum AnswerGrader {
    public static func normalize(_ s: String) -> String {
        let lowered = s.lowercased()
        let noPunct = String(lowered.unicodeScalars.map { CharacterSet.punctuationCharacters.contains($0) || CharacterSet.symbols.contains($0) ? " " : Character($0) })
        let words = noPunct.split(whereSeparator: { $0.isWhitespace }).filter { !["a", "an", "the"].contains($0) }
        return words.joined(separator: " ")
    }

    public static func isCorrect(prediction: String, gold: String) -> Bool {
        let g = normalize(gold), p = normalize(prediction)
        if g.isEmpty { return false }
        return (" " + p + " ").contains(" " + g + " ")
    }
}

/// The knowledge-incorporation domain: a self-edit is the policy's notes on a passage; the inner loop trains on
/// them (plus the passage); the reward is how well the adapted model answers the passage's questions without
/// seeing it.
public final class KnowledgeDomain: SelfEditDomain {
    public static let schema: [ConfigKey] = [
        ConfigKey("knowledge.train_file", .string, .string(""), "SEAL-schema JSON of the passages ReSTEM trains on."),
        ConfigKey("knowledge.train_count", .int, .int(0), "Use the first N training passages (0: all)."),
        ConfigKey("knowledge.eval_file", .string, .string(""), "SEAL-schema JSON of the held-out passages."),
        ConfigKey("knowledge.eval_count", .int, .int(0), "Use the first N evaluation passages (0: all)."),
        ConfigKey("knowledge.eval_skip", .int, .int(0), "Skip the first N passages of eval_file (keeps train and eval apart when both read one file)."),
        ConfigKey("knowledge.split_lines", .bool, .bool(true), "Each non-empty line of a self-edit is its own training sequence."),
        ConfigKey("knowledge.reward", .string, .string("accuracy"), "accuracy (graded greedy answers) or answer_likelihood (mean per-token probability of the gold answers: a continuous proxy)."),
        ConfigKey("knowledge.answer_tokens", .int, .int(64), "Longest generated answer."),
    ]

    let train: [Passage]
    let eval: [Passage]
    let byID: [String: Passage]
    let splitLines: Bool
    let reward: String
    let answerTokens: Int

    public init(config: ResolvedConfig) throws {
        func load(_ key: String, _ countKey: String, prefix: String, skip: Int = 0) throws -> [Passage] {
            let f = config.string(key)
            if f.isEmpty { return [] }
            var ps = Array(try KnowledgeData.loadSEAL(f).dropFirst(max(0, skip)))
            let n = config.int(countKey)
            if n > 0 { ps = Array(ps.prefix(n)) }
            return ps.enumerated().map { i, p in var p = p; p.id = prefix + "p\(i + skip)"; return p }
        }
        train = try load("knowledge.train_file", "knowledge.train_count", prefix: "train/")
        eval = try load("knowledge.eval_file", "knowledge.eval_count", prefix: "eval/", skip: config.int("knowledge.eval_skip"))
        byID = Dictionary(uniqueKeysWithValues: (train + eval).map { ($0.id, $0) })
        splitLines = config.bool("knowledge.split_lines")
        reward = config.string("knowledge.reward")
        answerTokens = config.int("knowledge.answer_tokens")
        guard ["accuracy", "answer_likelihood"].contains(reward) else {
            throw KnowledgeDataError(message: "knowledge.reward must be accuracy or answer_likelihood")
        }
    }

    func passage(_ id: String) throws -> Passage {
        guard let p = byID[id] else { throw KnowledgeDataError(message: "unknown context id \(id)") }
        return p
    }

    public func contexts(split: String) throws -> [ContextInfo] {
        (split == "train" ? train : eval).map { ContextInfo(id: $0.id, cost: Double($0.context.count) * Double(max(1, $0.questions.count))) }
    }

    public func selfEditPrompt(contextID: String) throws -> String {
        let p = try passage(contextID)
        return KnowledgePrompts.implications(title: p.title, context: p.context)
    }

    public func innerLoopPlan(contextID: String, selfEdit: String) throws -> InnerLoopPlan {
        let p = try passage(contextID)
        let seqs = try KnowledgePrompts.sequences(selfEdit: selfEdit, title: p.title, context: p.context, splitLines: splitLines)
        return InnerLoopPlan(rows: seqs.map { TextExample(text: $0) }, lossOn: .all)
    }

    public func evaluate(contextID: String, with m: ScoredModel) throws -> Evaluation {
        let p = try passage(contextID)
        let prompts = p.questions.map { KnowledgePrompts.question(title: p.title, question: $0.question) }
        if reward == "answer_likelihood" {
            var total = 0.0
            var items: [GradedItem] = []
            for (i, q) in p.questions.enumerated() {
                let prompt = m.tokenizer.encode(prompts[i]).map(Int32.init)
                let answer = m.tokenizer.encode(" " + q.answer, addSpecialTokens: false).map(Int32.init)
                let nll = try m.model.tokenNLL(prompt + answer, lora: m.lora)
                let ans = nll.suffix(answer.count)
                let prob = exp(-ans.reduce(0, +) / Double(max(1, ans.count)))
                total += prob
                items.append(GradedItem(question: q.question, gold: q.answer, prediction: String(format: "%.6f", prob), correct: prob > 0.5))
            }
            return Evaluation(score: total / Double(max(1, p.questions.count)), items: items)
        }
        let requests = prompts.map { GenerationRequest(prompt: m.tokenizer.encode($0).map(Int32.init)) }
        let out = try m.generator.generate(requests, params: SamplingParams(temperature: 0, maxNewTokens: answerTokens, stop: ["\n"]))
        var correct = 0
        var items: [GradedItem] = []
        for (i, q) in p.questions.enumerated() {
            let ok = AnswerGrader.isCorrect(prediction: out[i].text, gold: q.answer)
            if ok { correct += 1 }
            items.append(GradedItem(question: q.question, gold: q.answer, prediction: out[i].text, correct: ok))
        }
        return Evaluation(score: Double(correct) / Double(max(1, p.questions.count)), items: items)
    }

    public func contextOnlyPlan(contextID: String) throws -> InnerLoopPlan? {
        let p = try passage(contextID)
        return InnerLoopPlan(rows: [TextExample(text: "\(p.title)\n\(p.context)")], lossOn: .all)
    }

    public func reinforcementPair(contextID: String, selfEdit: String) throws -> TextExample {
        TextExample(prompt: try selfEditPrompt(contextID: contextID), completion: selfEdit)
    }
}
