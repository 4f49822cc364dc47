import Foundation
import XCTest
import SealTokenizer

/// The BPE trainer's rules on inputs small enough to work out by hand.
final class BPETrainerTests: XCTestCase {
    /// "abab cdcd": words "abab" and "Ġcdcd"; pairs a·b and c·d both occur twice, the tie goes to the smaller left
    /// id (a < c); then c·d; then nothing occurs twice (min frequency 2) and training stops below the vocab size.
    func testMergeOrderTieRuleAndStop() throws {
        let r = try BPETrainer(vocabSize: 400).train(["abab cdcd"])
        XCTAssertEqual(r.merges.map { "\($0.0) \($0.1)" }, ["a b", "c d"])
        XCTAssertEqual(r.tokens.count, 1 + 256 + 2)
        XCTAssertEqual(r.tokens[0], "<|endoftext|>")
        XCTAssertEqual(r.tokens[1 + 0x61], "a")
        XCTAssertEqual(r.tokens[1 + 0x20], "Ġ")
        XCTAssertEqual(Array(r.tokens.suffix(2)), ["ab", "cd"])
    }

    /// Counts are weighted by word frequency across documents, and merges build on earlier merges.
    func testFrequencyAndChainedMerges() throws {
        let r = try BPETrainer(vocabSize: 1 + 256 + 3, minFrequency: 1).train(["the the the", "then"])
        // Words: "the", "Ġthe" ×2, "then". Pairs: h·e 4, t·h 4, Ġ·t 2, e·n 1. Tie h·e vs t·h: t (0x74) > h (0x68), so h·e.
        XCTAssertEqual(r.merges.map { "\($0.0) \($0.1)" }, ["h e", "t he", "Ġ the"])
        XCTAssertEqual(r.tokens.count, 260)
    }

    /// Special tokens written in the text are cut out before counting (never learned from), and the trained
    /// tokenizer encodes them as their own id.
    func testSpecialTokensAreNotLearnedAndEncodeAsOneID() throws {
        let r = try BPETrainer(vocabSize: 300).train(["xy<|endoftext|>xy<|endoftext|>xy"])
        XCTAssertEqual(r.merges.map { "\($0.0) \($0.1)" }, ["x y"])
        let tok = try Tokenizer(tokenizerJSON: Data(r.tokenizerJSON.utf8), source: "trained")
        XCTAssertEqual(tok.encode("xy<|endoftext|>xy"), [0, 257, 0, 257])
        XCTAssertEqual(tok.encode("xy", addSpecialTokens: false), [257])
        XCTAssertEqual(tok.decode(tok.encode("héllo wörld\n\t 12", addSpecialTokens: false)), "héllo wörld\n\t 12")
    }

    func testDeterministicAndValidated() throws {
        let texts = (0..<200).map { "document \($0): the quick brown fox jumps over \($0 % 7) lazy dogs; café naïve 東京" }
        let a = try BPETrainer(vocabSize: 290).train(texts), b = try BPETrainer(vocabSize: 290).train(texts)
        XCTAssertEqual(a.tokenizerJSON, b.tokenizerJSON)
        XCTAssertEqual(a.tokens.count, 290)
        XCTAssertThrowsError(try BPETrainer(vocabSize: 200).train(texts)) { XCTAssertTrue("\($0)".contains("vocab size"), "\($0)") }
        XCTAssertThrowsError(try BPETrainer(vocabSize: 300, specialTokens: []).train(texts))
        XCTAssertThrowsError(try BPETrainer(vocabSize: 300, specialTokens: ["<a>", "<a>"]).train(texts))
    }
}
