import Foundation
import XCTest
import SealEngine
import SealGenerate
import SealModel
import SealTestSupport
import SealTokenizer
import SealToyWorld

/// The committed toy-world model (models/toyworld) agrees with the code that made it: its world files and its
/// tokenizer are what the generator and the trainer produce from its recorded configuration today, and it still
/// answers the known people's questions (the quality its README states, with a margin).
final class CommittedModelTests: XCTestCase {
    static let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("models/toyworld")

    /// The configuration the model was built with, as `seal pretrain` recorded it.
    func recorded() throws -> ResolvedConfig {
        let data = try Data(contentsOf: Self.dir.appendingPathComponent("pretrain_config.json"))
        let obj = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        let overrides = Pretrain.schema.compactMap { k -> String? in
            guard let v = obj[k.name] else { return nil }
            switch k.kind {
            case .string: return "\(k.name)=\"\(v as! String)\""
            case .bool: return "\(k.name)=\((v as! NSNumber).boolValue)"
            case .int: return "\(k.name)=\((v as! NSNumber).intValue)"
            case .double: return "\(k.name)=\((v as! NSNumber).doubleValue)"
            case .strings: return nil
            }
        }
        XCTAssertEqual(overrides.count, obj.count, "pretrain_config.json has keys the schema does not know")
        return try ResolvedConfig.resolve(schema: Pretrain.schema, file: nil, overrides: overrides)
    }

    func testWorldFilesAndTokenizerAreWhatTheCodeProduces() throws {
        let cfg = try recorded()
        let w = try Pretrain.world(cfg)
        let out = scratchRoot.appendingPathComponent("committed-world-\(UUID().uuidString)")
        let files = try ToyWorldFiles.write(w, options: Pretrain.corpusOptions(cfg), evalCount: cfg.int("world.eval"), to: out, corpus: false)
        XCTAssertEqual(files.map(\.file), ["new_train.json", "new_eval.json", "known_qa.json", "known_bio_only.json", "replay.jsonl"])
        for f in files {
            let mine = try Data(contentsOf: out.appendingPathComponent(f.file))
            let committed = try Data(contentsOf: Self.dir.appendingPathComponent("world").appendingPathComponent(f.file))
            XCTAssertTrue(mine == committed, "models/toyworld/world/\(f.file) differs from what the generator writes today")
        }
        let tok = try BPETrainer(vocabSize: cfg.int("tokenizer.vocab_size"), minFrequency: cfg.int("tokenizer.min_frequency"))
            .train(try w.corpus(options: Pretrain.corpusOptions(cfg)))
        let committed = try String(contentsOf: Self.dir.appendingPathComponent("tokenizer.json"), encoding: .utf8)
        XCTAssertTrue(tok.tokenizerJSON == committed, "models/toyworld/tokenizer.json differs from retraining on the corpus")
    }

    /// Greedy answers to 30 known people's questions (210, each in a phrasing the corpus did not use for that
    /// person): the README measures 0.9 on 700; below 0.75 here means the committed weights are not the model it
    /// describes.
    func testAnswersKnownPeoplesQuestions() throws {
        let m = try TransformerModel.load(directory: Self.dir)
        let tok = try Tokenizer(directory: Self.dir)
        let ps = Array(try ToyWorldEval.load(Self.dir.appendingPathComponent("world/known_qa.json").path).prefix(30))
        let r = try ToyWorldEval.questions(ps, generator: Generator(model: m, tokenizer: tok, maxBatch: 32))
        print("committed model: known people's questions \(r.correct)/\(r.total)")
        XCTAssertEqual(r.total, 210)
        XCTAssertGreaterThan(r.accuracy, 0.75)
        // New people were never in the corpus: near chance.
        let nps = Array(try ToyWorldEval.load(Self.dir.appendingPathComponent("world/new_eval.json").path).prefix(30))
        let n = try ToyWorldEval.questions(nps, generator: Generator(model: m, tokenizer: tok, maxBatch: 32))
        print("committed model: new people's questions \(n.correct)/\(n.total)")
        XCTAssertLessThan(n.accuracy, 0.15)
    }
}
