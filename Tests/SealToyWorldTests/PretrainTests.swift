import Foundation
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

    func testBadConfigIsAnErrorNamingTheKey() throws {
        XCTAssertThrowsError(try ResolvedConfig.resolve(schema: Pretrain.schema, file: nil, overrides: ["model.hiden_size=3"])) {
            XCTAssertTrue("\($0)".contains("model.hiden_size"), "\($0)")
        }
        let cfg = try ResolvedConfig.resolve(schema: Pretrain.schema, file: nil, overrides: ["model.hidden_size=50", "model.heads=4"])
        XCTAssertThrowsError(try Pretrain.modelConfigJSON(cfg, vocabSize: 300)) { XCTAssertTrue("\($0)".contains("model.hidden_size"), "\($0)") }
    }
}
