import Foundation
import XCTest
import SealTokenizer
import SealToyWorld

/// A tokenizer trained by seal on the toy world's corpus, checked against HuggingFace `tokenizers` and
/// transformers (Tests/Fixtures/toyworld/trained-tokenizer.json, written by scripts/fixtures/toyworld_tokenizer.py
/// from a tokenizer that `seal tokenizer train` wrote and HF loaded).
final class TrainedTokenizerTests: XCTestCase {
    struct Fixture: Decodable {
        struct World: Decodable { var seed: UInt64; var known: Int; var new: Int; var practice: Int }
        struct Case: Decodable { var text: String; var ids: [Int]; var plain_ids: [Int]; var decoded: String; var roundtrip: Bool }
        var world: World
        var vocab_size: Int
        var tokenizer_json: String
        var cases: [Case]
    }

    static let fixture: Fixture = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/toyworld/trained-tokenizer.json")
        return try! JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
    }()

    /// Retraining on the same world gives the very bytes HF was given: training is deterministic.
    func testRetrainingReproducesTheFixtureBytes() throws {
        let f = Self.fixture
        let w = try ToyWorld(seed: f.world.seed, known: f.world.known, new: f.world.new, practice: f.world.practice)
        // The corpus the fixture was made from: implications examples in the one style there was then.
        var o = CorpusOptions()
        o.styleWeights = [.partial: 1]
        let r = try BPETrainer(vocabSize: f.vocab_size).train(try w.corpus(options: o))
        XCTAssertEqual(r.tokens.count, f.vocab_size)
        XCTAssertTrue(r.tokenizerJSON == f.tokenizer_json, "retrained tokenizer.json differs from the one HF encoded with")
    }

    /// Every string: the same ids as HF (with and without the BOS), the same decoded text, and exact round trips.
    func testEncodesExactlyAsHuggingFace() throws {
        let f = Self.fixture
        let tok = try Tokenizer(tokenizerJSON: Data(f.tokenizer_json.utf8), source: "trained-tokenizer.json")
        XCTAssertEqual(tok.bosTokenID, 0)
        XCTAssertEqual(tok.tokenString(0), "<|endoftext|>")
        XCTAssertGreaterThan(f.cases.count, 400)
        var mismatches = 0
        for c in f.cases {
            let ids = tok.encode(c.text), plain = tok.encode(c.text, addSpecialTokens: false)
            if ids != c.ids || plain != c.plain_ids {
                mismatches += 1
                if mismatches <= 5 { XCTFail("ids differ for \(c.text.debugDescription): seal \(ids), HF \(c.ids)") }
            }
            XCTAssertEqual(tok.decode(c.ids), c.decoded, c.text.debugDescription)
            XCTAssertTrue(c.roundtrip, "HF does not round-trip \(c.text.debugDescription)")
            XCTAssertEqual(tok.decode(plain), c.text, "round trip of \(c.text.debugDescription)")
        }
        XCTAssertEqual(mismatches, 0)
    }
}
