import Foundation
import XCTest
import SealEngine
import SealGenerate
import SealKnowledge
import SealModel
import SealTokenizer

/// The grader a run configures is the one that grades its answers.
final class DomainGradingTests: XCTestCase {
    static let tiny = Shared.root.appendingPathComponent("models/tinystories-656k").path
    let schema = EngineConfig.schema + KnowledgeDomain.schema

    func domain(_ extra: [String]) throws -> KnowledgeDomain {
        try KnowledgeDomain(config: try ResolvedConfig.resolve(schema: schema, file: nil, overrides: [
            "knowledge.eval_file=\"\(Shared.squad)\"", "knowledge.eval_count=1",
        ] + extra))
    }

    /// Greedy answers of tinystories to the passage's questions (the domain's own question prompt).
    func answers(_ p: Passage) throws -> [String] {
        let dir = URL(fileURLWithPath: Self.tiny)
        let m = try TransformerModel.load(directory: dir)
        let tok = try Tokenizer(directory: dir)
        let reqs = p.questions.map { GenerationRequest(prompt: tok.encode(KnowledgePrompts.question(title: p.title, question: $0.question)).map(Int32.init)) }
        return try Generator(model: m, tokenizer: tok).generate(reqs, params: SamplingParams(temperature: 0, maxNewTokens: 24)).map(\.text)
    }

    func testConfiguredGraderGradesTheAnswers() throws {
        let local = try domain([])
        XCTAssertTrue(local.grader is LocalGrader)
        let id = try local.contexts(split: "eval")[0].id
        let p = local.passages(split: "eval")[0]
        var preds = try answers(p)
        preds[1] = "The answer is \(p.questions[1].answer)."
        let e = try local.gradeAnswers(contextID: id, predictions: preds)
        XCTAssertEqual(e.items.count, p.questions.count)
        XCTAssertEqual(e.items.map(\.prediction), preds)
        XCTAssertTrue(e.items[1].correct)
        let direct = try LocalGrader().grade(zip(p.questions, preds).map { GradeItem(question: $0.question, gold: $0.answer, prediction: $1) })
        XCTAssertEqual(e.items.map(\.correct), direct.map(\.correct))
        XCTAssertEqual(e.score, Double(direct.filter(\.correct).count) / Double(p.questions.count))

        let judged = try domain(["grader.kind=\"llm\"", "grader.model=\"\(Self.tiny)\"", "grader.max_tokens=6"])
        XCTAssertEqual(judged.grader.name, "llm:\(Self.tiny)")
        let ej = try judged.gradeAnswers(contextID: id, predictions: preds)
        let verdicts = try LLMJudge(modelDirectory: Self.tiny, maxTokens: 6).grade(zip(p.questions, preds).map { GradeItem(question: $0.question, gold: $0.answer, prediction: $1) })
        XCTAssertEqual(ej.items.map(\.correct), verdicts.map(\.correct))
        XCTAssertEqual(ej.score, Double(verdicts.filter(\.correct).count) / Double(p.questions.count))
        XCTAssertThrowsError(try local.gradeAnswers(contextID: id, predictions: ["x"])) { XCTAssertTrue("\($0)".contains("answers for")) }
    }

    /// Issue 16: the reward that trains and the metric that evaluates are separate. With knowledge.reward =
    /// answer_likelihood, a reward is the gold answers' mean per-token probability, while an evaluation (every
    /// arm) grades the greedy answers exactly as a run with the accuracy reward does.
    func testProxyRewardDoesNotChangeEvaluation() throws {
        let dir = URL(fileURLWithPath: Self.tiny)
        let m = try TransformerModel.load(directory: dir)
        let tok = try Tokenizer(directory: dir)
        let scored = ScoredModel(model: m, lora: nil, tokenizer: tok, generator: Generator(model: m, tokenizer: tok))
        let proxy = try domain(["knowledge.reward=\"answer_likelihood\"", "knowledge.answer_tokens=24"])
        let plain = try domain(["knowledge.answer_tokens=24"])
        let id = try proxy.contexts(split: "eval")[0].id
        let reward = try proxy.evaluate(contextID: id, with: scored, purpose: .reward)
        for item in reward.items {
            let v = Double(item.prediction)
            XCTAssertNotNil(v, "a likelihood reward records the probability: \(item.prediction)")
            if let v { XCTAssertTrue(v > 0 && v < 1, "\(v)") }
        }
        XCTAssertEqual(reward.score, reward.items.compactMap { Double($0.prediction) }.reduce(0, +) / Double(reward.items.count), accuracy: 1e-6)
        let evaluated = try proxy.evaluate(contextID: id, with: scored, purpose: .evaluation)
        let reference = try plain.evaluate(contextID: id, with: scored, purpose: .evaluation)
        XCTAssertEqual(evaluated.items.map(\.prediction), reference.items.map(\.prediction))
        XCTAssertEqual(evaluated.items.map(\.correct), reference.items.map(\.correct))
        XCTAssertEqual(evaluated.score, reference.score)
        XCTAssertEqual(evaluated.items.map(\.prediction), try answers(proxy.passages(split: "eval")[0]))
        // With the accuracy reward, reward and evaluation are the same measure.
        let accuracyReward = try plain.evaluate(contextID: id, with: scored, purpose: .reward)
        XCTAssertEqual(accuracyReward.items.map(\.prediction), reference.items.map(\.prediction))
        XCTAssertEqual(accuracyReward.score, reference.score)
    }

    func testGraderConfigErrors() throws {
        XCTAssertThrowsError(try domain(["grader.kind=\"http\""])) { XCTAssertTrue("\($0)".contains("grader.url"), "\($0)") }
        XCTAssertThrowsError(try domain(["grader.kind=\"llm\""])) { XCTAssertTrue("\($0)".contains("grader.model"), "\($0)") }
        XCTAssertThrowsError(try domain(["grader.kind=\"gpt4\""])) { XCTAssertTrue("\($0)".contains("grader.kind"), "\($0)") }
        XCTAssertThrowsError(try domain(["grader.chat=\"maybe\"", "grader.kind=\"llm\"", "grader.model=\"\(Self.tiny)\""])) { XCTAssertTrue("\($0)".contains("grader.chat"), "\($0)") }
        XCTAssertThrowsError(try domain(["knowledge.gold_answers=\"some\""])) { XCTAssertTrue("\($0)".contains("knowledge.gold_answers"), "\($0)") }
        XCTAssertTrue(try domain(["grader.kind=\"contains\""]).grader is ContainmentGrader)
    }

    /// Self-edit coverage: the share of the passage's questions whose gold answer (normalised tokens, adjacent, in
    /// order) the self-edit states; with knowledge.gold_answers = all any accepted answer counts.
    func testSelfEditCoverageCountsTheGoldsAStatementHolds() throws {
        let d = try domain([])
        let p = d.passages(split: "eval")[0]
        let n = Double(p.questions.count)
        XCTAssertEqual(try d.selfEditCoverage(contextID: p.id, selfEdit: ""), 0)
        XCTAssertEqual(try d.selfEditCoverage(contextID: p.id, selfEdit: "Nothing here relates."), 0)
        // Each gold on its own line, upper-cased and punctuated: every question covered.
        let all = p.questions.map { "1. IT IS \($0.answer.uppercased())!" }.joined(separator: "\n")
        XCTAssertEqual(try d.selfEditCoverage(contextID: p.id, selfEdit: all), 1)
        // Only the first question's gold: 1/n (unless another question shares that gold).
        let first = p.questions[0].answer
        let expected = Double(p.questions.filter { AnswerGrader.isCorrect(prediction: first, gold: $0.answer) }.count) / n
        XCTAssertEqual(try d.selfEditCoverage(contextID: p.id, selfEdit: "The answer: \(first)."), expected)
        XCTAssertThrowsError(try d.selfEditCoverage(contextID: "no-such-id", selfEdit: "x"))
    }
}
