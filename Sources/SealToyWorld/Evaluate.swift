import Foundation
import SealGenerate
import SealKnowledge
import SealModel
import SealTokenizer

/// Measurements of a toy-world model, with the knowledge domain's own prompts and grader: questions asked without
/// the passage (`KnowledgePrompts.question`, greedy, stop at a newline, `AnswerGrader`), and self-edits written for a
/// passage (`KnowledgePrompts.implications`, sampled as SEAL samples them).
public enum ToyWorldEval {
    public struct QAResult: Sendable {
        public var correct: Int
        public var total: Int
        public var byAttribute: [(attribute: String, correct: Int, total: Int)]
        public var items: [(title: String, question: String, gold: String, prediction: String, correct: Bool)]
        public var accuracy: Double { total > 0 ? Double(correct) / Double(total) : 0 }
    }

    /// Passages as read from SEAL-schema JSON. Toy-world files hold one question per attribute in `Attribute`'s
    /// order, so a passage with exactly that many questions gets them attributed by position; others get none.
    public static func load(_ path: String) throws -> [SEALPassage] {
        try KnowledgeData.loadSEAL(path).map { p in
            let n = Attribute.allCases.count
            return SEALPassage(title: p.title, context: p.context, questions: p.questions.enumerated().map { j, q in
                SEALPassage.QA(question: q.question, answer: q.answer, attribute: p.questions.count == n ? Attribute.allCases[j] : nil)
            })
        }
    }

    /// Greedy answers to every question of `passages` (one batched generation), graded as the knowledge domain does.
    public static func questions(_ passages: [SEALPassage], generator: Generator, maxNewTokens: Int = 32) throws -> QAResult {
        var prompts: [[Int32]] = []
        var meta: [(Int, Int)] = []
        for (i, p) in passages.enumerated() {
            for (j, q) in p.questions.enumerated() {
                prompts.append(generator.tokenizer.encode(KnowledgePrompts.question(title: p.title, question: q.question)).map(Int32.init))
                meta.append((i, j))
            }
        }
        let out = try generator.generate(prompts.map { GenerationRequest(prompt: $0) },
                                         params: SamplingParams(temperature: 0, maxNewTokens: maxNewTokens, stop: ["\n"]))
        var r = QAResult(correct: 0, total: 0, byAttribute: [], items: [])
        var perAttr = [Int](repeating: 0, count: Attribute.allCases.count), perTotal = perAttr
        for (k, (i, j)) in meta.enumerated() {
            let q = passages[i].questions[j]
            let ok = AnswerGrader.isCorrect(prediction: out[k].text, gold: q.answer)
            r.total += 1
            if ok { r.correct += 1 }
            if let a = q.attribute, let ai = Attribute.allCases.firstIndex(of: a) { perTotal[ai] += 1; if ok { perAttr[ai] += 1 } }
            r.items.append((passages[i].title, q.question, q.answer, out[k].text, ok))
        }
        r.byAttribute = Attribute.allCases.enumerated().map { ($0.element.rawValue, perAttr[$0.offset], perTotal[$0.offset]) }
        return r
    }

    public struct SelfEditResult: Sendable {
        /// Mean over self-edits of the fraction of the passage's answers the self-edit states.
        public var coverage: Double
        /// Mean number of lines per self-edit.
        public var lines: Double
        /// Fraction of self-edits that end with EOS (not cut by the token limit).
        public var finished: Double
        public var samples: [(title: String, selfEdit: String, covered: Int, of: Int)]
    }

    /// Samples `k` implications self-edits per passage (temperature and top-p as given; SEAL uses 1.0 / 0.95) and
    /// measures how many of the passage's facts each restates (its answers, graded as answers are). At most
    /// `maxNewTokens` new tokens, fewer where the model's context leaves less room after the longest prompt.
    public static func selfEdits(_ passages: [SEALPassage], generator: Generator, k: Int, temperature: Double = 1.0,
                                 topP: Double = 0.95, maxNewTokens: Int = 192, seed: UInt64 = 0) throws -> SelfEditResult {
        let reqs = passages.map { GenerationRequest(prompt: generator.tokenizer.encode(KnowledgePrompts.implications(title: $0.title, context: $0.context)).map(Int32.init), samples: k) }
        // A small model's context may not fit the longest prompt plus `maxNewTokens`: the self-edits get what is left.
        let room = generator.model.config.maxPositionEmbeddings - (reqs.map(\.prompt.count).max() ?? 0)
        guard room >= 8 else { throw ToyWorldError("the self-edit prompt leaves \(room) tokens of the model's context for the self-edit") }
        let out = try generator.generate(reqs, params: SamplingParams(temperature: temperature, topP: topP, maxNewTokens: min(maxNewTokens, room), seed: seed))
        var cov = 0.0, lines = 0.0, fin = 0.0
        var samples: [(String, String, Int, Int)] = []
        for c in out {
            let p = passages[c.promptIndex]
            let n = p.questions.filter { AnswerGrader.isCorrect(prediction: c.text, gold: $0.answer) }.count
            cov += Double(n) / Double(max(1, p.questions.count))
            lines += Double(c.text.split(separator: "\n").filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }.count)
            if c.finishReason == .eos { fin += 1 }
            samples.append((p.title, c.text, n, p.questions.count))
        }
        let m = Double(max(1, out.count))
        return SelfEditResult(coverage: cov / m, lines: lines / m, finished: fin / m, samples: samples)
    }
}
