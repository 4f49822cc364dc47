import Foundation
import SealCore
import XCTest
import SealEngine
import SealGenerate
import SealModel
import SealTokenizer
import SealARC

/// Constrained decoding of self-edits (`arc.constrained_decoding`): the grammar's language parses, the token
/// index equals a brute-force walk of the vocabulary (multi-character tokens at every boundary), a disallowed
/// token is never chosen, and sampled self-edits from a random Llama with Llama-3's real tokenizer always parse.
final class ConstrainedDecodingTests: XCTestCase {
    static let llama = try! Tokenizer(directory: ARCTestData.llama3Tokenizer)
    static let qwen = try! Tokenizer(directory: ARCTestData.qwenTokenizer)
    static let llamaConstraint = try! ARCSelfEditGrammar.constraint(for: llama)
    let dfa = ARCSelfEditGrammar.automaton

    func edit(_ lr: String = "0.0001", epochs: String = "2", strategy: String = "train_using_output_tokens", bool: String = "true") -> String {
        #"{"data_generation": {"use_basic_augmentations": \#(bool), "use_size_augmentations": false, "use_chain_augmentations": false, "use_repeat_augmentations": true}, "training": {"strategy": "\#(strategy)", "learning_rate": \#(lr), "num_train_epochs": \#(epochs)}}"#
    }

    func testGrammarAcceptsSelfEditsAndRejectsWhatWouldNotParse() throws {
        // What models and seal write: compact, SEAL's example layout, Swift's number printing.
        XCTAssertTrue(dfa.accepts(ARCDomain.oracleDefault), ARCDomain.oracleDefault)
        for lr in [1e-4, 5e-5, 1e-5, 3e-4, 0.001, 1.0, 0.5] {
            let j = ARCSelfEdit(augmentations: .all, strategy: .allTokens, learningRate: lr, epochs: 3).json
            XCTAssertTrue(dfa.accepts(j), j)
        }
        let pretty = """

        {
          "data_generation": {
            "use_basic_augmentations": true,
            "use_size_augmentations": false,
            "use_chain_augmentations": false,
            "use_repeat_augmentations": false
          },
          "training": {
        \t"strategy": "train_using_all_tokens",
        \t"learning_rate": 1e-4,
        \t"num_train_epochs": 10
          }
        }
        """
        XCTAssertTrue(dfa.accepts(pretty))
        for lr in ["0.0001", "0.5", "0.12345678", "1", "1.0", "1.0000000", "5e-5", "1e-05", "2.5E-4", "9.9999999e-1", "0.5e-3", "1e-99"] {
            XCTAssertTrue(dfa.accepts(edit(lr)), lr)
            XCTAssertNoThrow(try ARCSelfEdit.parse(edit(lr)), lr)
        }
        // Values the parser would refuse (or that are not sane), and broken structure.
        for lr in ["0", "0.0", "0.000000000", "1.5", "2", "1e-0", "1e-00", "10e-1", "1e5", "-1e-4", "0.123456789", ".5", "1.", "1e-100", "\"1e-4\"", "NaN"] {
            XCTAssertFalse(dfa.accepts(edit(lr)), lr)
        }
        for e in ["0", "2.0", "100", "-1", "01", "\"2\""] { XCTAssertFalse(dfa.accepts(edit(epochs: e)), e) }
        XCTAssertFalse(dfa.accepts(edit(strategy: "train_using_some_tokens")))
        for b in ["True", "1", "\"true\"", "null"] { XCTAssertFalse(dfa.accepts(edit(bool: b)), b) }
        XCTAssertFalse(dfa.accepts(edit() + "\n"), "nothing after the closing brace")
        XCTAssertFalse(dfa.accepts(String(edit().dropLast())), "an unclosed object")
        XCTAssertFalse(dfa.accepts("```json\n" + edit()), "no code fence")
        XCTAssertFalse(dfa.accepts(edit().replacingOccurrences(of: ", \"use_size", with: ",                  \"use_size")), "at most 16 whitespace characters in a row")
        let swapped = #"{"training": {"strategy": "train_using_all_tokens", "learning_rate": 0.1, "num_train_epochs": 1}, "data_generation": {"use_basic_augmentations": true, "use_size_augmentations": true, "use_chain_augmentations": true, "use_repeat_augmentations": true}}"#
        XCTAssertNoThrow(try ARCSelfEdit.parse(swapped))
        XCTAssertFalse(dfa.accepts(swapped), "keys in the schema's order only")
    }

    /// Random walks over the automaton's bytes: every text it can produce parses with the existing parser.
    func testEveryTextOfTheLanguageParses() throws {
        var rng = SplitMix64(seed: 7)  // SealARC's generator
        var lengths: [Int] = []
        for walk in 0..<3000 {
            var s: Int32 = 0
            var bytes: [UInt8] = []
            while true {
                let next = (0..<256).filter { dfa.next(s, UInt8($0)) >= 0 }
                if next.isEmpty { break }
                // Favour structure over whitespace so walks reach every part of the schema.
                let structural = next.filter { ![0x20, 0x09, 0x0A, 0x0D].contains($0) }
                let pool = (!structural.isEmpty && rng.below(4) != 0) ? structural : next
                let b = UInt8(pool[rng.below(pool.count)])
                bytes.append(b)
                s = dfa.next(s, b)
            }
            XCTAssertTrue(dfa.accepting[Int(s)], "walk \(walk) ended in a non-accepting state")
            let text = String(decoding: bytes, as: UTF8.self)
            XCTAssertNoThrow(try ARCSelfEdit.parse(text), text)
            lengths.append(bytes.count)
        }
        XCTAssertLessThan(dfa.stateCount, 2000)
        XCTAssertGreaterThan(lengths.max()!, lengths.min()!)
    }

    /// The token index equals a brute-force walk of every token's bytes, at states all along sampled texts (inside
    /// keys, between tokens, inside numbers, at the end), for Llama-3's and Qwen2.5's vocabularies.
    func testTokenIndexEqualsBruteForce() throws {
        for (tok, name) in [(Self.llama, "llama3"), (Self.qwen, "qwen2.5")] {
            let c = name == "llama3" ? Self.llamaConstraint : try ARCSelfEditGrammar.constraint(for: tok)
            let bytesOf = (0..<tok.vocabSize).map { tok.tokenBytes($0) }
            let text = Array(edit("2.5E-4", epochs: "12").replacingOccurrences(of: ", ", with: ",\n    ").utf8)
            var states: [Int32] = []
            var s: Int32 = 0
            for (i, b) in text.enumerated() {
                if i % 3 == 0 || i > text.count - 6 { states.append(s) }
                s = dfa.next(s, b)
            }
            states.append(s)
            var allowed: [Int32] = []
            for st in states {
                allowed.removeAll()
                c.allowedTokens(st, remaining: 1_000_000, into: &allowed)
                var expected: [Int32] = []
                for id in 0..<tok.vocabSize {
                    if let b = bytesOf[id], !b.isEmpty, dfa.run(b, from: st) != nil { expected.append(Int32(id)) }
                }
                XCTAssertEqual(allowed.sorted(), expected, "\(name) state \(st)")
            }
            XCTAssertTrue(c.isComplete(s))
            allowed.removeAll()
            c.allowedTokens(s, remaining: 10, into: &allowed)
            XCTAssertEqual(allowed, [], "\(name): after the closing brace only EOS may come")
        }
    }

    /// Multi-character tokens at the boundaries of the structure, by name.
    func testMultiCharacterTokensAtBoundaries() throws {
        let tok = Self.llama, c = Self.llamaConstraint
        func allowed(after prefix: String) -> Set<String> {
            var ids: [Int32] = []
            c.allowedTokens(dfa.run(prefix.utf8)!, remaining: 1_000, into: &ids)
            return Set(ids.map { String(decoding: tok.tokenBytes(Int($0))!, as: UTF8.self) })
        }
        let afterKey = allowed(after: #"{"data_generation"#)
        XCTAssertTrue(afterKey.contains("\":"), "a token that closes the key and adds the colon")
        XCTAssertTrue(afterKey.contains("\""))
        XCTAssertFalse(afterKey.contains("\","), "a comma cannot follow a key")
        XCTAssertFalse(afterKey.contains("_"), "the key is complete")
        let beforeBool = allowed(after: #"{"data_generation": {"use_basic_augmentations":"#)
        for t in ["true", " true", " false", " t", "tr"] { XCTAssertTrue(beforeBool.contains(t), t) }
        for t in [" True", " null", " 1", "\"", " \"true"] { XCTAssertFalse(beforeBool.contains(t), t) }
        let endOfFirst = allowed(after: #"{"data_generation": {"use_basic_augmentations": true, "use_size_augmentations": true, "use_chain_augmentations": true, "use_repeat_augmentations": true"#)
        XCTAssertTrue(endOfFirst.contains("}"))
        XCTAssertTrue(endOfFirst.contains("},"), "close the object and go on")
        XCTAssertFalse(endOfFirst.contains("}}"), "the root object cannot close here")
        XCTAssertFalse(endOfFirst.contains(","), "no fifth flag")
        let lastValue = allowed(after: #"{"data_generation": {"use_basic_augmentations": true, "use_size_augmentations": true, "use_chain_augmentations": true, "use_repeat_augmentations": true}, "training": {"strategy": "train_using_all_tokens", "learning_rate": 0.001, "num_train_epochs": 3"#)
        XCTAssertTrue(lastValue.contains("}}"), "both objects close in one token")
        XCTAssertTrue(lastValue.contains("0"), "a second digit")
        XCTAssertFalse(lastValue.contains("00"), "at most two digits")
        XCTAssertFalse(lastValue.contains("}}\n"), "nothing after the root object")
        let inNumber = allowed(after: #"{"data_generation": {"use_basic_augmentations": true, "use_size_augmentations": true, "use_chain_augmentations": true, "use_repeat_augmentations": true}, "training": {"strategy": "train_using_all_tokens", "learning_rate": 0.000000"#)
        XCTAssertTrue(inNumber.contains("1"))
        XCTAssertTrue(inNumber.contains("01"), "the eighth digit")
        XCTAssertFalse(inNumber.contains("001"), "a ninth digit")
        XCTAssertFalse(inNumber.contains(","), "0.000000 is zero: a nonzero digit must come first")
        // A byte that only starts a UTF-8 character is never allowed: the language is ASCII.
        XCTAssertFalse(allowed(after: "").contains { $0.utf8.contains { $0 >= 0x80 } })
    }

    /// The vocabulary decides what fits: Llama-3 and Qwen2.5 write the shortest self-edit in far fewer than the
    /// 128 tokens SEAL samples; TinyStories' vocabulary has no `{`.
    func testShortestSelfEditAndVocabulariesThatCannotSpellOne() throws {
        let l = Self.llamaConstraint.fewestTokens
        let q = try ARCSelfEditGrammar.constraint(for: Self.qwen).fewestTokens
        XCTAssertGreaterThan(l, 10)
        XCTAssertLessThan(l, 128)
        XCTAssertLessThan(q, 128)
        let tiny = try Tokenizer(directory: ARCTestData.tiny)
        XCTAssertThrowsError(try ARCSelfEditGrammar.constraint(for: tiny)) { e in
            XCTAssertTrue("\(e)".contains("arc.constrained_decoding") && "\(e)".contains("cannot spell a self-edit"), "\(e)")
        }
    }

    /// The packed sampler never picks a disallowed token, however likely, and follows the softmax restricted to
    /// the allowed tokens (temperature, top-k, top-p applied among them).
    func testADisallowedTokenIsNeverChosen() throws {
        var sampler = Sampler()
        let logits: [Float] = [2, 1, 0, 9, 3, 0.5, 12]
        let allowed: [Int32] = [0, 1, 2, 4, 5]
        let probs = logits.map { exp(Double($0)) }
        let n = 20_000
        for params in [SamplingParams(temperature: 1), SamplingParams(temperature: 0.8, topP: 0.9), SamplingParams(temperature: 1, topK: 2), SamplingParams(temperature: 0)] {
            var counts = [Int](repeating: 0, count: logits.count)
            for i in 0..<n {
                let (t, lp) = sampler.sample(logits: logits[...], params: params, uniform: (Double(i) + 0.5) / Double(n), among: allowed)
                counts[t] += 1
                let z = probs.reduce(0, +)
                XCTAssertEqual(lp, log(probs[t] / z), accuracy: 1e-6, "log-probability under the unconstrained model")
            }
            XCTAssertEqual(counts[3] + counts[6], 0, "\(params): \(counts)")
            if params.temperature == 0 { XCTAssertEqual(counts[4], n) }
            if params.temperature == 1 && params.topK == 0 && params.topP == 1 {
                let z = allowed.reduce(0.0) { $0 + probs[Int($1)] }
                for a in allowed { XCTAssertEqual(Double(counts[Int(a)]) / Double(n), probs[Int(a)] / z, accuracy: 1e-3) }
            }
            if params.topK == 2 { XCTAssertEqual(counts[4] + counts[0], n, "top-k 2 among the allowed keeps ids 4 and 0") }
        }
    }

    // MARK: sampling with a model

    /// A random Llama (2 layers, hidden 64) with Llama-3's real tokenizer: it writes no JSON on its own.
    static let randomLlama: URL = {
        let dir = tempDir("random-llama")
        let cfg = dir.appendingPathComponent("shape.json")
        try! """
        {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 64, "intermediate_size": 128,
         "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 128256, "rms_norm_eps": 1e-05,
         "rope_theta": 500000.0, "max_position_embeddings": 4096, "tie_word_embeddings": true, "hidden_act": "silu",
         "bos_token_id": 128000, "eos_token_id": [128001, 128008, 128009]}
        """.write(to: cfg, atomically: true, encoding: .utf8)
        let out = dir.appendingPathComponent("m")
        _ = try! TransformerModel.initDirectory(configURL: cfg, out: out, seed: 3, dtype: .f32, tokenizerDirectory: ARCTestData.llama3Tokenizer)
        return out
    }()

    func testConstrainedSamplesAlwaysParseAndKeepTheSeedContract() throws {
        let model = try TransformerModel.load(directory: Self.randomLlama)
        let tok = Self.llama
        let task = ARCTestData.task("6150a2bd")
        let prompts = [ARCPrompts.selfEditPrompt(task, chat: .chat(.llama3)), "Write JSON:", "{", "The answer is"].map { tok.encode($0).map(Int32.init) }
        let c = Self.llamaConstraint
        let params = SamplingParams(temperature: 0.8, maxNewTokens: 128, seed: 11)
        func run(_ order: [Int], batch: Int, samples: Int) throws -> [String: Completion] {
            let gen = Generator(model: model, tokenizer: tok, maxBatch: batch)
            let out = try gen.generate(order.map { GenerationRequest(prompt: prompts[$0], samples: samples, constraint: c) }, params: params)
            var d: [String: Completion] = [:]
            for o in out { d["\(order[o.promptIndex]).\(o.sampleIndex)"] = o }
            return d
        }
        let ref = try run([0, 1, 2, 3], batch: 16, samples: 12)
        XCTAssertEqual(ref.count, 48)
        var distinct = Set<String>()
        for (k, o) in ref {
            // A random model wanders (whitespace is most of the allowed tokens) until the budget forces the
            // shortest completion: such a sample ends complete on its 128th token; otherwise EOS is forced.
            XCTAssertTrue(o.finishReason == .eos || (o.finishReason == .length && o.tokenIDs.count == 128), "\(k): \(o.finishReason)")
            if o.finishReason == .eos { XCTAssertTrue(Set([128001, 128008, 128009]).contains(o.tokenIDs.last!)) }
            XCTAssertTrue(ARCSelfEditGrammar.automaton.accepts(o.text), "\(k): \(o.text)")
            XCTAssertNoThrow(try ARCSelfEdit.parse(o.text), "\(k): \(o.text)")
            XCTAssertTrue(o.logprob.isFinite && o.logprob < 0)
            distinct.insert(o.text)
        }
        XCTAssertGreaterThan(distinct.count, 44, "samples differ")
        if let example = ref["0.0"] { print("constrained sample of a random Llama: \(example.finishReason), \(example.tokenIDs.count) tokens: \(example.text)") }
        // Same (seed, prompt, sample index) → same tokens, whatever the batch size and the prompt order.
        let other = try run([2, 0, 3, 1], batch: 5, samples: 12)
        for (k, o) in ref { XCTAssertEqual(other[k]?.tokenIDs, o.tokenIDs, k) }
        // Without the constraint the same model writes no self-edit.
        let gen = Generator(model: model, tokenizer: tok, maxBatch: 16)
        let free = try gen.generate([GenerationRequest(prompt: prompts[0], samples: 8)], params: params)
        XCTAssertEqual(free.filter { (try? ARCSelfEdit.parse($0.text)) != nil }.count, 0)
        // A budget of exactly the fewest tokens still yields complete self-edits.
        let tight = try gen.generate([GenerationRequest(prompt: prompts[0], samples: 8, constraint: c)],
                                     params: SamplingParams(temperature: 1, maxNewTokens: c.fewestTokens, seed: 3))
        for o in tight { XCTAssertNoThrow(try ARCSelfEdit.parse(o.text), o.text) }
        XCTAssertThrowsError(try gen.generate([GenerationRequest(prompt: prompts[0], constraint: c)],
                                              params: SamplingParams(temperature: 1, maxNewTokens: c.fewestTokens - 1))) { e in
            XCTAssertTrue("\(e)".contains("allows no token"), "\(e)")
        }
    }

    /// A constraint that allows every token (EOS included, in id order) gives exactly the unconstrained samples:
    /// the packed path computes the same distribution in the same order.
    func testAnAllowEverythingConstraintEqualsFreeSampling() throws {
        struct Everything: DecodingConstraint {
            let vocab: Int
            var initialState: Int { 0 }
            func allowedTokens(_ state: Int, remaining: Int, into allowed: inout [Int32]) { for i in 0..<vocab { allowed.append(Int32(i)) } }
            func isComplete(_ state: Int) -> Bool { false }
            func advance(_ state: Int, token: Int) -> Int { state + 1 }
        }
        let model = try TransformerModel.load(directory: ARCTestData.tiny)
        let tok = try Tokenizer(directory: ARCTestData.tiny)
        let gen = Generator(model: model, tokenizer: tok, maxBatch: 4)
        let p = ["Once upon a time", "The dog"].map { tok.encode($0).map(Int32.init) }
        for params in [SamplingParams(temperature: 1, maxNewTokens: 30, seed: 42), SamplingParams(temperature: 0.7, topP: 0.9, topK: 40, maxNewTokens: 30, seed: 1)] {
            let free = try gen.generate(p.map { GenerationRequest(prompt: $0, samples: 3) }, params: params)
            let all = try gen.generate(p.map { GenerationRequest(prompt: $0, samples: 3, constraint: Everything(vocab: model.config.vocabSize)) }, params: params)
            XCTAssertEqual(free.map(\.tokenIDs), all.map(\.tokenIDs))
            XCTAssertEqual(free.map(\.logprob), all.map(\.logprob))
        }
    }

    /// The ARC domain's switch: off by default (free sampling), on it hands the engine the grammar; a budget too
    /// small for any self-edit is an error naming the key.
    func testDomainSwitch() throws {
        func config(_ extra: [String]) throws -> ResolvedConfig {
            try ResolvedConfig.resolve(schema: EngineConfig.schema + ARCDomain.schema, file: nil, overrides: [
                "model.path=\(Self.randomLlama.path)",
                "arc.train_file=\(ARCTestData.arc("arc-agi_training_challenges.json"))",
                "arc.train_solutions=\(ARCTestData.arc("arc-agi_training_solutions.json"))",
            ] + extra)
        }
        XCTAssertNil(try ARCDomain(config: try config([])).selfEditConstraint())
        let on = try ARCDomain(config: try config(["arc.constrained_decoding=true"]))
        XCTAssertNotNil(try on.selfEditConstraint() as? RegularConstraint)
        XCTAssertThrowsError(try ARCDomain(config: try config(["arc.constrained_decoding=true", "sampling.max_new_tokens=8"]))) { e in
            XCTAssertTrue("\(e)".contains("sampling.max_new_tokens = 8"), "\(e)")
        }
        XCTAssertThrowsError(try ARCDomain(config: try config(["arc.constrained_decoding=true", "model.path=\(ARCTestData.tiny.path)"]))) { e in
            XCTAssertTrue("\(e)".contains("arc.constrained_decoding"), "\(e)")
        }
        XCTAssertThrowsError(try config(["arc.constrained_decoding=maybe"])) { e in
            XCTAssertTrue("\(e)".contains("arc.constrained_decoding"), "\(e)")
        }
    }
}
