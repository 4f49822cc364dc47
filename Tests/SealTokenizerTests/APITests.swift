import Foundation
import XCTest
import SealTokenizer

/// The public API on the real tokenizers: reference examples, vocabulary look-ups, special tokens,
/// thread safety.
final class APITests: XCTestCase {
    static let models = FixtureSupport.repoRoot.appendingPathComponent("../shared/models")

    func load(_ name: String) throws -> Tokenizer {
        try Tokenizer(directory: APITests.models.appendingPathComponent(name))
    }

    /// qwen2.5-tokenizer/EXAMPLES.json, the reference encodings shipped with the model files.
    func testQwenExamples() throws {
        struct Example: Decodable { let text: String; let ids: [Int] }
        let url = APITests.models.appendingPathComponent("qwen2.5-tokenizer/EXAMPLES.json")
        let examples = try JSONDecoder().decode([Example].self, from: Data(contentsOf: url))
        XCTAssertEqual(examples.count, 5)
        let tok = try load("qwen2.5-tokenizer")
        for e in examples {
            XCTAssertEqual(tok.encode(e.text), e.ids, visible(e.text))
            XCTAssertTrue(sameText(tok.decode(e.ids), e.text), visible(e.text))
        }
    }

    func testQwenVocabulary() throws {
        let tok = try load("qwen2.5-tokenizer")
        XCTAssertEqual(tok.vocabSize, 151_665)
        XCTAssertEqual(tok.tokenID("<|im_start|>"), 151_644)
        XCTAssertEqual(tok.tokenID("<|endoftext|>"), 151_643)
        XCTAssertEqual(tok.tokenString(151_645), "<|im_end|>")
        XCTAssertEqual(tok.tokenID("Ġthe"), 279)
        XCTAssertEqual(tok.tokenString(279), "Ġthe")
        XCTAssertNil(tok.tokenID("no such token"))
        XCTAssertNil(tok.tokenString(tok.vocabSize))
        XCTAssertNil(tok.tokenString(-1))
        XCTAssertNil(tok.bosTokenID)
        XCTAssertFalse(tok.addsBOS)
        XCTAssertEqual(tok.specialTokenIDs.count, 14)
        XCTAssertTrue(tok.specialTokenIDs.contains(151_644))
        XCTAssertFalse(tok.specialTokenIDs.contains(151_663), "<|repo_name|> is an added token but not special")
        XCTAssertEqual(tok.encode("<|im_start|>user\nHello<|im_end|>"), [151_644, 872, 198, 9707, 151_645])
        XCTAssertEqual(tok.decode([151_644, 872, 198, 9707, 151_645], skipSpecialTokens: true), "user\nHello")
        XCTAssertEqual(tok.decode([151_644, 872, 198, 9707, 151_645]), "<|im_start|>user\nHello<|im_end|>")
        XCTAssertEqual(tok.encode(""), [])
        XCTAssertEqual(tok.decode([]), "")
    }

    /// `tokenBytes` of a text's ids, concatenated, are the text's bytes (non-ASCII characters split across tokens
    /// included); SentencePiece's normaliser adds the leading `▁`, which is a space here (decode strips it);
    /// special tokens have none. The synthetic byte-fallback tokenizer (TinyStories' vocabulary plus `<0xNN>`
    /// tokens) covers byte fallback: TinyStories itself has no byte tokens, so `{` is not in its vocabulary.
    func testTokenBytesConcatenateToTheText() throws {
        let fallbackJSON = try JSONSerialization.jsonObject(with: Data(contentsOf: FixtureSupport.fixturesDir.appendingPathComponent("synthetic-bytefallback.json"))) as! [String: Any]
        let fallback = try Tokenizer(tokenizerJSON: Data((fallbackJSON["tokenizer_json"] as! String).utf8), source: "synthetic-bytefallback")
        let texts = ["{\"data_generation\": {\"use_basic_augmentations\": true,\n  \"lr\": 1e-4}}", "Hello world", "naïve café — 日本語 🙂", "  two  spaces\t\ttabs\n\nlines"]
        for name in ["llama3-tokenizer", "qwen2.5-tokenizer", "gpt2-tokenizer", "synthetic-bytefallback"] {
            let tok = name == "synthetic-bytefallback" ? fallback : try load(name)
            let sentencePiece = name == "synthetic-bytefallback"
            for text in texts + ["naïve café"] {
                let ids = tok.encode(text, addSpecialTokens: false)
                // The synthetic vocabulary lacks some byte tokens (240 of 256): texts it cannot spell are skipped.
                if sentencePiece && ids.contains(0) { XCTAssertTrue(text.contains("日"), visible(text)); continue }
                var bytes: [UInt8] = []
                for id in ids { bytes += try XCTUnwrap(tok.tokenBytes(id), "\(name) id \(id)") }
                XCTAssertEqual(bytes, Array(((sentencePiece ? " " : "") + text).utf8), "\(name): \(visible(text))")
            }
        }
        XCTAssertEqual(fallback.tokenBytes(fallback.tokenID("<0x7B>")!), [0x7B], "byte fallback")
        XCTAssertEqual(fallback.tokenBytes(fallback.tokenID("<0xE2>")!), [0xE2], "a byte that is only part of a UTF-8 character")
        XCTAssertEqual(fallback.tokenBytes(fallback.tokenID("▁")!), [0x20])
        let llama = try load("llama3-tokenizer")
        XCTAssertNil(llama.tokenBytes(128_009), "<|eot_id|> is special")
        XCTAssertNil(llama.tokenBytes(llama.vocabSize))
        XCTAssertEqual(llama.tokenBytes(llama.tokenID("Ġthe")!), Array(" the".utf8))
        let tiny = try load("tinystories-656k")
        XCTAssertNil(tiny.tokenBytes(1), "<|start_story|> is special")
        XCTAssertEqual(tiny.tokenBytes(tiny.tokenID("▁the▁")!), Array(" the ".utf8))
    }

    func testLlama3SpecialTokens() throws {
        let tok = try load("llama3-tokenizer")
        XCTAssertEqual(tok.vocabSize, 128_256)
        XCTAssertEqual(tok.bosTokenID, 128_000)
        XCTAssertTrue(tok.addsBOS)
        XCTAssertEqual(tok.encode(""), [128_000])
        XCTAssertEqual(tok.encode("", addSpecialTokens: false), [])
        XCTAssertEqual(tok.encode("Hello world"), [128_000, 9906, 1917])
        XCTAssertEqual(tok.encode("<|begin_of_text|>Hi", addSpecialTokens: false), [128_000, 13347])
        XCTAssertEqual(tok.specialTokenIDs.count, 256)
        XCTAssertEqual(tok.tokenString(128_009), "<|eot_id|>")
        XCTAssertEqual(tok.decode([128_000, 9906, 1917], skipSpecialTokens: true), "Hello world")
        // tokenizer_config.json sets clean_up_tokenization_spaces, so decode follows transformers.
        XCTAssertTrue(tok.cleansUpTokenizationSpaces)
        XCTAssertEqual(tok.decode(tok.encode("Hi , I 'm here .", addSpecialTokens: false)), "Hi, I'm here.")
    }

    func testGPT2AndTinyStories() throws {
        let gpt2 = try load("gpt2-tokenizer")
        XCTAssertEqual(gpt2.vocabSize, 50_257)
        XCTAssertNil(gpt2.bosTokenID)
        XCTAssertEqual(gpt2.specialTokenIDs, [50_256])
        XCTAssertEqual(gpt2.encode("Hello world"), [15_496, 995])

        let tiny = try load("tinystories-656k")
        XCTAssertEqual(tiny.vocabSize, 2048)
        XCTAssertEqual(tiny.bosTokenID, 1)
        XCTAssertEqual(tiny.tokenString(1), "<|start_story|>")
        XCTAssertEqual(tiny.specialTokenIDs, [0, 1, 2])
        let ids = tiny.encode("Once upon a time")
        XCTAssertEqual(ids.first, 1)
        XCTAssertEqual(tiny.decode(ids, skipSpecialTokens: true), "Once upon a time")
    }

    /// The same tokenizer used from many threads at once gives the same ids as serially (the BPE
    /// cache is shared between threads).
    func testConcurrentEncoding() throws {
        let tok = try load("llama3-tokenizer")
        let (fixture, _) = try FixtureSupport.load("llama3")
        let texts = fixture.cases.map(\.text)
        let expected = fixture.cases.map(\.ids)
        let failures = Counter()
        DispatchQueue.concurrentPerform(iterations: 8) { worker in
            for round in 0..<3 {
                for i in stride(from: (worker + round) % 5, to: texts.count, by: 5) where tok.encode(texts[i]) != expected[i] {
                    failures.increment()
                }
            }
        }
        XCTAssertEqual(failures.value, 0)
    }
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var n = 0
    func increment() { lock.lock(); n += 1; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return n }
}
