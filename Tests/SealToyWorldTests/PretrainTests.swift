import Foundation
import SealCore
import XCTest
import SealEngine
import SealModel
import SealTestSupport
import SealTokenizer
import SealToyWorld

/// `seal pretrain`'s recipe at a size that runs in seconds: the loss falls, and the directory is a loadable model
/// with its tokenizer, world files and report.
final class PretrainTests: XCTestCase {
    func testTinyPretrainLearnsAndWritesAModelDirectory() throws {
        let dir = scratchRoot.appendingPathComponent("pretrain-\(UUID().uuidString)")
        let cfg = try ResolvedConfig.resolve(schema: Pretrain.schema, file: nil, overrides: [
            "world.known=24", "world.new=6", "world.practice=20", "world.eval=3", "tokenizer.vocab_size=400",
            "model.hidden_size=48", "model.intermediate_size=96", "model.layers=2", "model.heads=4", "model.kv_heads=2",
            "model.context=256", "train.epochs=4", "train.batch_size=8", "train.warmup_steps=5", "train.log_every=10",
            "eval.known=4", "eval.new=4", "eval.self_edits=2", "eval.samples=1", "out.dir=\"\(dir.path)\"",
        ])
        var lines: [String] = []
        let t0 = Date()
        let s = try Pretrain.run(cfg) { lines.append($0) }
        print(lines.joined(separator: "\n"))
        print("pretrain test: \(String(format: "%.1f", Date().timeIntervalSince(t0))) s")
        XCTAssertGreaterThan(s.steps, 20)
        // The first step's loss is near ln(vocab) (the init gives near-uniform logits); training must get well below.
        XCTAssertEqual(s.firstLoss, log(Double(s.vocab)), accuracy: 0.5)
        XCTAssertLessThan(s.lastLoss, s.firstLoss - 2.0, "loss \(s.firstLoss) -> \(s.lastLoss)")

        for f in ["config.json", "model.safetensors", "generation_config.json", "tokenizer.json", "tokenizer_config.json",
                  "special_tokens_map.json", "pretrain_config.json", "pretrain_report.json", "world/new_train.json", "world/new_eval.json",
                  "world/known_qa.json"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent(f).path), f)
        }
        let m = try TransformerModel.load(directory: dir)
        XCTAssertEqual(m.config.numLayers, 2)
        XCTAssertEqual(m.config.hiddenSize, 48)
        XCTAssertEqual(m.eosTokenIDs, [0])
        let tok = try Tokenizer(directory: dir)
        XCTAssertEqual(tok.vocabSize, m.config.vocabSize)
        XCTAssertEqual(tok.bosTokenID, 0)
        // The saved weights give the loss training ended near on a corpus document (not the init's).
        let w = try ToyWorld(seed: 0, known: 24, new: 6, practice: 20)
        let text = try w.corpus(options: CorpusOptions())[0]
        let nll = try m.tokenNLL(tok.encode(text).map(Int32.init), lora: nil)
        let mean = nll.reduce(0, +) / Double(nll.count)
        XCTAssertLessThan(mean, s.firstLoss - 1.5, "saved model's loss on a training document: \(mean)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("world/corpus.jsonl").path))
        let report = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("pretrain_report.json"))) as! [String: Any]
        XCTAssertNotNil(report["known_qa"])
        XCTAssertNotNil(report["self_edits"])
    }

    /// The init for training from scratch: N(0, std²), residual writers N(0, std²/(2·layers)), norms 1; the same
    /// seed gives the same weights.
    func testTrainingInit() throws {
        let cfg = try ResolvedConfig.resolve(schema: Pretrain.schema, file: nil, overrides: ["model.layers=3"])
        let json = try Pretrain.modelConfigJSON(cfg, vocabSize: 500)
        let mc = try ModelConfig.parse(data: Data(JSONWriter.serialize(json).utf8), path: "test")
        let a = TransformerModel(config: mc), b = TransformerModel(config: mc)
        a.initializeForTraining(seed: 5, std: 0.02)
        b.initializeForTraining(seed: 5, std: 0.02)
        XCTAssertTrue(Array(UnsafeBufferPointer(start: a.params.pointer, count: a.params.count)) == Array(UnsafeBufferPointer(start: b.params.pointer, count: b.params.count)))
        func stats(_ name: String) -> (mean: Double, std: Double) {
            let e = a.layout.entries.first { $0.name == name }!
            let v = (0..<e.count).map { Double(a.params.pointer[e.offset + $0]) }
            let m = v.reduce(0, +) / Double(v.count)
            return (m, (v.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(v.count)).squareRoot())
        }
        XCTAssertEqual(stats("model.embed_tokens.weight").std, 0.02, accuracy: 0.0005)
        XCTAssertEqual(stats("model.layers.1.self_attn.q_proj.weight").std, 0.02, accuracy: 0.0005)
        XCTAssertEqual(stats("model.layers.1.mlp.down_proj.weight").std, 0.02 / 6.0.squareRoot(), accuracy: 0.0003)
        XCTAssertEqual(stats("model.layers.2.self_attn.o_proj.weight").std, 0.02 / 6.0.squareRoot(), accuracy: 0.0003)
        XCTAssertEqual(stats("model.layers.0.input_layernorm.weight").mean, 1)
        XCTAssertEqual(stats("model.layers.0.input_layernorm.weight").std, 0)
    }

    func testBadConfigIsAnErrorNamingTheKey() throws {
        XCTAssertThrowsError(try ResolvedConfig.resolve(schema: Pretrain.schema, file: nil, overrides: ["model.hiden_size=3"])) {
            XCTAssertTrue("\($0)".contains("model.hiden_size"), "\($0)")
        }
        let cfg = try ResolvedConfig.resolve(schema: Pretrain.schema, file: nil, overrides: ["model.hidden_size=50", "model.heads=4"])
        XCTAssertThrowsError(try Pretrain.modelConfigJSON(cfg, vocabSize: 300)) { XCTAssertTrue("\($0)".contains("model.hidden_size"), "\($0)") }
        XCTAssertNoThrow(try Pretrain.validate(try ResolvedConfig.resolve(schema: Pretrain.schema, file: nil, overrides: [])))
        for (o, key) in [("world.eval=300", "world.eval"), ("world.known=-1", "world.known"), ("tokenizer.vocab_size=100", "tokenizer.vocab_size"),
                         ("train.lr=0", "train.lr"), ("train.beta2=1.5", "train.beta2"), ("out.dtype=\"f8\"", "out.dtype"),
                         ("train.schedule=\"steps\"", "train.schedule"), ("corpus.qa_fraction=2", "corpus.qa_fraction"),
                         ("model.kv_heads=4", "model.kv_heads")] {
            // Ranges are checked when the config resolves, relations between keys by validate: either names the key.
            XCTAssertThrowsError(try Pretrain.validate(try ResolvedConfig.resolve(schema: Pretrain.schema, file: nil, overrides: [o])), o) {
                XCTAssertTrue("\($0)".contains(key), "\(o): \($0)")
            }
        }
    }
}
