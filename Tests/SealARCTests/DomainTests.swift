import Foundation
import XCTest
import SealEngine
import SealGenerate
import SealTokenizer
import SealTrain
import SealARC
import SealTestSupport

/// The ARC domain without a model: configuration, prompts, the self-edit → inner-loop plan (TTT rows, loss,
/// recipe, budget, token limit), and grading of answers. A Llama-3.2-1B-Instruct "model folder" here is its real
/// config.json and tokenizer (no weights are needed for these).
final class DomainTests: XCTestCase {
    static let llamaDir: URL = {
        let d = tempDir("llama")
        let fm = FileManager.default
        try! fm.copyItem(at: ARCTestData.shared.appendingPathComponent("models/configs/llama-3.2-1b-instruct.json"), to: d.appendingPathComponent("config.json"))
        for f in ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"] {
            try! fm.createSymbolicLink(at: d.appendingPathComponent(f), withDestinationURL: ARCTestData.llama3Tokenizer.appendingPathComponent(f))
        }
        return d
    }()

    func config(_ extra: [String] = [], model: URL = DomainTests.llamaDir) throws -> ResolvedConfig {
        try ResolvedConfig.resolve(schema: EngineConfig.schema + ARCDomain.schema, file: nil, overrides: [
            "model.path=\(model.path)",
            "arc.train_file=\(ARCTestData.arc("arc-agi_training_challenges.json"))",
            "arc.train_solutions=\(ARCTestData.arc("arc-agi_training_solutions.json"))",
            "arc.eval_file=\(ARCTestData.arc("arc-agi_evaluation_challenges.json"))",
            "arc.eval_solutions=\(ARCTestData.arc("arc-agi_evaluation_solutions.json"))",
        ] + extra)
    }

    func edit(basic: Bool = true, size: Bool = false, chain: Bool = false, repeat r: Bool = false,
              strategy: String = "train_using_output_tokens", lr: String = "0.0001", epochs: Int = 1) -> String {
        #"{"data_generation": {"use_basic_augmentations": \#(basic), "use_size_augmentations": \#(size), "use_chain_augmentations": \#(chain), "use_repeat_augmentations": \#(r)}, "training": {"strategy": "\#(strategy)", "learning_rate": \#(lr), "num_train_epochs": \#(epochs)}}"#
    }

    func testContextsPromptsAndPair() throws {
        let d = try ARCDomain(config: try config())
        XCTAssertEqual(d.chat, .chat(.llama3))
        XCTAssertEqual(try d.contexts(split: "train").map(\.id), ARCSets.sealTrain)
        XCTAssertEqual(try d.contexts(split: "eval").map(\.id), ARCSets.sealEval)
        let p = try d.selfEditPrompt(contextID: "6150a2bd")
        XCTAssertEqual(p, ARCPrompts.selfEditPrompt(ARCTestData.task("6150a2bd"), chat: .chat(.llama3)))
        let pair = try d.reinforcementPair(contextID: "6150a2bd", selfEdit: edit())
        XCTAssertEqual(pair.prompt, p)
        XCTAssertEqual(pair.text, edit() + "<|eot_id|>")
        // The tinystories tokenizer has no chat format: plain prompts, no end-of-turn marker.
        let plain = try ARCDomain(config: try config(model: ARCTestData.tiny))
        XCTAssertEqual(plain.chat, ARCChat.none)
        XCTAssertEqual(try plain.reinforcementPair(contextID: "6150a2bd", selfEdit: "x").text, "x")
    }

    /// A GGUF model with a ChatML template whose tokenizer's BOS is `<|im_start|>` (SmolLM2): the domain takes the
    /// file as model.path, detects the format, and every prompt it writes (self-edit request, TTT rows, queries) is
    /// encoded as apply_chat_template encodes it: one `<|im_start|>` at the start, never two.
    func testChatMLGGUFPromptsHaveOneIMStart() throws {
        let gguf = try TestModels.smolLM2()
        let d = try ARCDomain(config: try config(model: gguf))
        guard case .chat(.chatML) = d.chat else { return XCTFail("SmolLM2's format: \(d.chat)") }
        XCTAssertFalse(d.chat.promptSpecialTokens)
        let tok = try Tokenizer(model: gguf)
        let imStart = try XCTUnwrap(tok.tokenID("<|im_start|>"))
        XCTAssertEqual(tok.bosTokenID, imStart)
        let pair = try d.reinforcementPair(contextID: "6150a2bd", selfEdit: edit())
        XCTAssertFalse(pair.promptSpecialTokens)
        XCTAssertTrue(try XCTUnwrap(pair.prompt).hasPrefix("<|im_start|>system\n"))
        let t = ARCTestData.task("6e02f1e3")
        let plan = try d.innerLoopPlan(contextID: t.id, selfEdit: edit(epochs: 1))
        let rows = try Dataset.encode(Array(plan.rows.prefix(5)) + [pair], tokenizer: tok, lossOn: .completion, maxLength: 1 << 20,
                                      eosID: nil, appendEOS: false).rows
        for r in rows {
            XCTAssertEqual(r.ids.first.map(Int.init), imStart)
            XCTAssertNotEqual(r.ids.dropFirst().first.map(Int.init), imStart, "<|im_start|> twice at the start of a row")
        }
        let query = ARCPrompts.query(demos: Array(t.train.prefix(2)), input: t.test[0].input, output: nil, format: .numpy, chat: d.chat).prompt
        let ids = d.chat.encode(query, with: tok)
        XCTAssertEqual(ids, tok.encode(query, addSpecialTokens: false))
        XCTAssertEqual(ids.first, imStart)
        XCTAssertNotEqual(ids.dropFirst().first, imStart)
    }

    func testPlanFollowsTheSelfEdit() throws {
        let d = try ARCDomain(config: try config())
        let t = ARCTestData.task("6e02f1e3")
        let plan = try d.innerLoopPlan(contextID: t.id, selfEdit: "Here you go:\n```json\n" + edit(epochs: 1) + "\n```")
        XCTAssertEqual(plan.lossOn, .completion)
        XCTAssertEqual(plan.learningRate, 1e-4)
        XCTAssertEqual(plan.epochs, 1)
        XCTAssertEqual(plan.warmupSteps, 11)
        XCTAssertEqual(plan.rows.count, 250)
        XCTAssertEqual(plan.rows, d.rows(try d.tttExamples(t, AugmentationSwitches(basic: true, size: false, chain: false, repeat: false))))
        for r in plan.rows {
            let prompt = try XCTUnwrap(r.prompt)
            XCTAssertTrue(prompt.hasPrefix("<|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date"))
            XCTAssertTrue(prompt.hasSuffix(" -><|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"))
            XCTAssertTrue(r.text.hasSuffix("#<|eot_id|>"))
            XCTAssertNotNil(GridFormat.numpy.parseAnswer(r.text))
        }
        let all = try d.innerLoopPlan(contextID: t.id, selfEdit: edit(size: true, strategy: "train_using_all_tokens", lr: "3e-4", epochs: 3))
        XCTAssertEqual(all.lossOn, .all)
        XCTAssertEqual(all.learningRate, 3e-4)
        XCTAssertEqual(all.epochs, 3)
        XCTAssertNotEqual(all.rows, plan.rows)
        // The data depend only on the task and the switches (SEAL builds them with a fixed seed).
        XCTAssertEqual(try d.innerLoopPlan(contextID: t.id, selfEdit: edit(epochs: 2)).rows, plan.rows)
        // Oracle TTT: the fixed configuration (all augmentations, outputs only, 1e-4, 2 epochs).
        let oracle = try XCTUnwrap(try d.contextOnlyPlan(contextID: t.id))
        XCTAssertEqual(oracle.epochs, 2)
        XCTAssertEqual(oracle.learningRate, 1e-4)
        XCTAssertEqual(oracle.lossOn, .completion)
        XCTAssertEqual(oracle.rows.count, 250)
    }

    func testInvalidSelfEditsCarryReasons() throws {
        let d = try ARCDomain(config: try config())
        func reason(_ s: String, _ id: String = "6e02f1e3") -> String {
            do { _ = try d.innerLoopPlan(contextID: id, selfEdit: s); return "accepted" } catch let e as InvalidSelfEdit { return e.reason } catch { return "\(error)" }
        }
        XCTAssertEqual(reason(edit(epochs: 4)), "over budget: num_train_epochs 4 × 250 examples / 2 = 500 > 375 steps")
        XCTAssertEqual(reason(edit(epochs: 3)), "accepted")
        XCTAssertTrue(reason("no idea").contains("no JSON object"))
        // The budget counts the examples the task actually yields (a two-demonstration task has few).
        let few = try d.tttExamples(ARCTestData.task("6150a2bd"), AugmentationSwitches(basic: false, size: false, chain: false, repeat: false))
        XCTAssertLessThan(few.count, 10)
        XCTAssertEqual(reason(edit(basic: false, epochs: 80), "6150a2bd"), "accepted")
    }

    /// Examples of `arc.max_tokens` tokens or more are dropped, the rest kept (checked with the real tokenizer).
    func testTokenLimitIsExact() throws {
        let limit = 1400
        let d = try ARCDomain(config: try config(["arc.max_tokens=\(limit)"]))
        let t = ARCTestData.task("4be741c5")
        let sw = AugmentationSwitches(basic: true, size: false, chain: false, repeat: false)
        let kept = try d.tttExamples(t, sw)
        let all = TTTDataBuilder(switches: sw, seed: Seeds.hash(t.id)).examples(t)
        XCTAssertLessThan(all.count, 250)
        let tok = try Tokenizer(directory: DomainTests.llamaDir)
        var dropped = 0
        for e in all {
            let row = d.rows([e])[0]
            let n = tok.encode(row.prompt!).count + tok.encode(row.text, addSpecialTokens: false).count
            XCTAssertEqual(kept.contains(e), n < limit, "\(n) tokens")
            if n >= limit { dropped += 1 }
        }
        XCTAssertGreaterThan(dropped, 0)
        XCTAssertGreaterThan(kept.count, 0)
        let tiny = try ARCDomain(config: try config(["arc.max_tokens=50"]))
        XCTAssertThrowsError(try tiny.innerLoopPlan(contextID: t.id, selfEdit: edit())) {
            XCTAssertTrue("\($0)".contains("no TTT example of task 4be741c5 fits in 50 tokens"), "\($0)")
        }
    }

    /// Answers in each query's frame are mapped back, voted and graded.
    func testGrading() throws {
        let d = try ARCDomain(config: try config())
        let t = ARCTestData.task("b1fc8b8e")  // two test inputs
        let qs = d.queries(t)
        XCTAssertEqual(qs.count, 12)
        let perfect = qs.map { q in GridFormat.numpy.render(q.transform.apply(t.test[q.test].output!)) }
        let s = d.grade(t, queries: qs, answers: perfect)
        XCTAssertTrue(s.solved)
        XCTAssertEqual(s.parsed, [6, 6])
        // The identity answers alone still win the vote: the others are malformed or unasked.
        let partial: [String?] = qs.map { q in q.transform == .identity ? GridFormat.numpy.render(t.test[q.test].output!) + "#" : (q.test == 0 ? "garbage" : nil) }
        XCTAssertTrue(d.grade(t, queries: qs, answers: partial).solved)
        // Answers given in the task's frame (not the query's) are wrong after inversion, except where the
        // transformation leaves the grid unchanged.
        let unframed = qs.map { q in GridFormat.numpy.render(t.test[q.test].output!) }
        let u = d.grade(t, queries: qs, answers: unframed)
        XCTAssertEqual(u.parsed, [6, 6])
        let wrong = [String?](repeating: "[[1]]", count: qs.count)
        XCTAssertFalse(d.grade(t, queries: qs, answers: wrong).solved)
    }

    func testConfigErrors() throws {
        XCTAssertThrowsError(try ARCDomain(config: try config(["model.chat=true"]))) { XCTAssertTrue("\($0)".contains("model.chat must be false")) }
        XCTAssertThrowsError(try ARCDomain(config: try config(["arc.train_tasks=nope"]))) { XCTAssertTrue("\($0)".contains("no task nope"), "\($0)") }
        XCTAssertThrowsError(try ARCDomain(config: try config(["arc.eval_solutions="]))) {
            XCTAssertTrue("\($0)".contains("task 59341089 has no test output"), "\($0)")
        }
        XCTAssertThrowsError(try ARCDomain(config: try config(["arc.format=words"]))) { XCTAssertTrue("\($0)".contains("arc.format")) }
        XCTAssertThrowsError(try ARCDomain(config: try config(["arc.chat=qwen2"]))) { XCTAssertTrue("\($0)".contains("no <|im_end|> token"), "\($0)") }
        XCTAssertThrowsError(try ARCDomain(config: try config(["arc.oracle={}"]))) { XCTAssertTrue("\($0)".contains("arc.oracle"), "\($0)") }
        XCTAssertThrowsError(try ARCDomain(config: try config(["arc.attempts=5"])))
        XCTAssertEqual(try ARCDomain(config: try config(["arc.train_count=3"])).contexts(split: "train").count, 3)
    }
}
