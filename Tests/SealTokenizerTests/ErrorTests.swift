import Foundation
import XCTest
import SealTokenizer

/// Malformed or unsupported tokenizer.json files must throw a `TokenizerError` naming the file and
/// the offending key or component — never crash and never load approximately.
final class ErrorTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("seal-tokenizer-errors-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: dir)
    }

    /// A minimal valid byte-level BPE with the given replacements of top-level keys.
    func tokenizerJSON(_ overrides: [String: String] = [:], removing: Set<String> = []) -> String {
        var parts: [String: String] = [
            "version": "\"1.0\"",
            "added_tokens": "[]",
            "normalizer": "null",
            "pre_tokenizer": #"{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true}"#,
            "post_processor": "null",
            "decoder": #"{"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true}"#,
            "model": #"{"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"]}"#,
        ]
        for (k, v) in overrides { parts[k] = v }
        for k in removing { parts[k] = nil }
        return "{" + parts.sorted { $0.key < $1.key }.map { "\"\($0.key)\": \($0.value)" }.joined(separator: ", ") + "}"
    }

    /// Writes `contents` as dir/<name>/tokenizer.json, loads it, and returns the error.
    func loadError(_ name: String, _ contents: Data, file: StaticString = #filePath, line: UInt = #line) -> TokenizerError? {
        let sub = dir.appendingPathComponent(name)
        try! FileManager.default.createDirectory(at: sub, withIntermediateDirectories: true)
        let path = sub.appendingPathComponent("tokenizer.json")
        try! contents.write(to: path)
        do {
            _ = try Tokenizer(directory: sub)
            XCTFail("\(name): loading succeeded, expected an error", file: file, line: line)
            return nil
        } catch let e as TokenizerError {
            XCTAssertTrue(e.description.contains(path.path), "\(name): description does not name the file: \(e)", file: file, line: line)
            XCTAssertEqual(e.file, path.path, file: file, line: line)
            return e
        } catch {
            XCTFail("\(name): expected a TokenizerError, got \(error)", file: file, line: line)
            return nil
        }
    }

    func loadError(_ name: String, _ text: String, file: StaticString = #filePath, line: UInt = #line) -> TokenizerError? {
        loadError(name, Data(text.utf8), file: file, line: line)
    }

    func expect(_ e: TokenizerError?, _ kind: TokenizerError.Kind, mentions words: [String],
                file: StaticString = #filePath, line: UInt = #line) {
        guard let e else { return }
        XCTAssertEqual(e.kind, kind, "\(e)", file: file, line: line)
        for w in words {
            XCTAssertTrue(e.description.contains(w), "'\(e)' does not mention '\(w)'", file: file, line: line)
        }
    }

    func testTheMinimalTokenizerLoads() throws {
        let t = try Tokenizer(tokenizerJSON: Data(tokenizerJSON().utf8), source: "minimal")
        XCTAssertEqual(t.encode("ab ba"), [2, 1, 0])  // "ab", "b"+"a" ("Ġ" is not in this vocabulary and is dropped)
        XCTAssertEqual(t.vocabSize, 3)
    }

    func testMissingModel() {
        expect(loadError("missing-model", tokenizerJSON(removing: ["model"])), .missingKey, mentions: ["model"])
        expect(loadError("null-model", tokenizerJSON(["model": "null"])), .missingKey, mentions: ["model"])
    }

    func testUnsupportedModelTypes() {
        expect(loadError("wordpiece", tokenizerJSON(["model": #"{"type": "WordPiece", "unk_token": "[UNK]", "vocab": {"a": 0}}"#])),
               .unsupported, mentions: ["model.type", "WordPiece"])
        expect(loadError("unigram", tokenizerJSON(["model": #"{"type": "Unigram", "vocab": [["a", 0.0]]}"#])),
               .unsupported, mentions: ["model.type", "Unigram"])
        expect(loadError("dropout", tokenizerJSON(["model": #"{"type": "BPE", "dropout": 0.1, "vocab": {"a": 0}, "merges": []}"#])),
               .unsupported, mentions: ["model.dropout"])
    }

    func testBadMerges() {
        expect(loadError("three-part-merge", tokenizerJSON(["model": #"{"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b", "a b c"]}"#])),
               .invalidValue, mentions: ["model.merges[1]", "a b c"])
        expect(loadError("unknown-merge-token", tokenizerJSON(["model": #"{"type": "BPE", "vocab": {"a": 0, "b": 1}, "merges": ["a c"]}"#])),
               .invalidValue, mentions: ["model.merges[0]", "'c'"])
        expect(loadError("unknown-merge-result", tokenizerJSON(["model": #"{"type": "BPE", "vocab": {"a": 0, "b": 1}, "merges": [["a", "b"]]}"#])),
               .invalidValue, mentions: ["model.merges[0]", "'ab'"])
        expect(loadError("merge-not-string", tokenizerJSON(["model": #"{"type": "BPE", "vocab": {"a": 0}, "merges": [7]}"#])),
               .invalidValue, mentions: ["model.merges[0]"])
        expect(loadError("missing-merges", tokenizerJSON(["model": #"{"type": "BPE", "vocab": {"a": 0}}"#])),
               .missingKey, mentions: ["model.merges"])
        expect(loadError("bad-id", tokenizerJSON(["model": #"{"type": "BPE", "vocab": {"a": -1}, "merges": []}"#])),
               .invalidValue, mentions: ["model.vocab.a"])
        expect(loadError("unk-not-in-vocab", tokenizerJSON(["model": #"{"type": "BPE", "unk_token": "<unk>", "vocab": {"a": 0}, "merges": []}"#])),
               .invalidValue, mentions: ["model.unk_token", "<unk>"])
    }

    func testMalformedJSON() throws {
        let real = try Data(contentsOf: FixtureSupport.repoRoot.appendingPathComponent("../shared/models/qwen2.5-tokenizer/tokenizer.json"))
        expect(loadError("truncated", real.prefix(5000)), .malformedJSON, mentions: ["malformed JSON", "line 235"])
        expect(loadError("truncated-mid-vocab", real.prefix(real.count / 2)), .malformedJSON, mentions: ["malformed JSON"])
        expect(loadError("empty", ""), .malformedJSON, mentions: ["malformed JSON"])
        expect(loadError("trailing-comma", #"{"model": {"type": "BPE", "vocab": {}, "merges": [],}}"#), .malformedJSON, mentions: ["line 1"])
        expect(loadError("garbage", "tokenizer"), .malformedJSON, mentions: ["byte 0"])
        expect(loadError("trailing-data", tokenizerJSON() + " {}"), .malformedJSON, mentions: ["trailing"])
        expect(loadError("invalid-utf8", Data([0x7B, 0x22, 0xFF, 0xFE, 0x22, 0x3A, 0x31, 0x7D])), .malformedJSON, mentions: ["UTF-8"])
        expect(loadError("lone-surrogate", #"{"model": {"type": "BPE", "vocab": {"\ud800": 0}, "merges": []}}"#), .malformedJSON, mentions: ["surrogate"])
        expect(loadError("deep-nesting", String(repeating: "[", count: 100_000)), .malformedJSON, mentions: ["nesting"])
        expect(loadError("not-an-object", "[1, 2, 3]"), .invalidValue, mentions: ["expected an object"])
    }

    func testUnsupportedComponents() {
        expect(loadError("precompiled", tokenizerJSON(["normalizer": #"{"type": "Precompiled", "precompiled_charsmap": ""}"#])),
               .unsupported, mentions: ["normalizer", "Precompiled"])
        expect(loadError("nested-normalizer", tokenizerJSON(["normalizer": #"{"type": "Sequence", "normalizers": [{"type": "NFC"}, {"type": "BertNormalizer"}]}"#])),
               .unsupported, mentions: ["normalizer.normalizers[1]", "BertNormalizer"])
        expect(loadError("metaspace", tokenizerJSON(["pre_tokenizer": #"{"type": "Metaspace", "replacement": "▁"}"#])),
               .unsupported, mentions: ["pre_tokenizer", "Metaspace"])
        expect(loadError("bad-regex", tokenizerJSON(["pre_tokenizer": #"{"type": "Split", "pattern": {"Regex": "(unclosed"}, "behavior": "Isolated", "invert": false}"#])),
               .unsupported, mentions: ["pre_tokenizer.pattern.Regex", "(unclosed"])
        expect(loadError("bad-behavior", tokenizerJSON(["pre_tokenizer": #"{"type": "Split", "pattern": {"String": " "}, "behavior": "Sideways", "invert": false}"#])),
               .unsupported, mentions: ["pre_tokenizer.behavior", "Sideways"])
        expect(loadError("wordpiece-decoder", tokenizerJSON(["decoder": #"{"type": "WordPiece", "prefix": "@@"}"#])),
               .unsupported, mentions: ["decoder", "WordPiece"])
        expect(loadError("unknown-post", tokenizerJSON(["post_processor": #"{"type": "Frobnicate"}"#])),
               .unsupported, mentions: ["post_processor", "Frobnicate"])
        expect(loadError("template-missing-special", tokenizerJSON(["post_processor": #"{"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}], "special_tokens": {}}"#])),
               .invalidValue, mentions: ["post_processor.single[0].SpecialToken.id", "<s>"])
        expect(loadError("added-token-without-content", tokenizerJSON(["added_tokens": #"[{"id": 3, "special": true}]"#])),
               .missingKey, mentions: ["added_tokens[0].content"])
        expect(loadError("type-missing", tokenizerJSON(["decoder": #"{"prefix": "@@"}"#])),
               .missingKey, mentions: ["decoder.type"])
    }

    func testMissingFile() {
        let missing = dir.appendingPathComponent("no-such-model")
        XCTAssertThrowsError(try Tokenizer(directory: missing)) { error in
            guard let e = error as? TokenizerError else { return XCTFail("\(error)") }
            XCTAssertEqual(e.kind, .io)
            XCTAssertTrue(e.description.contains(missing.appendingPathComponent("tokenizer.json").path), "\(e)")
        }
    }

    func testSourceNameIsUsedForInMemoryJSON() {
        XCTAssertThrowsError(try Tokenizer(tokenizerJSON: Data("{}".utf8), source: "in-memory/tok.json")) { error in
            XCTAssertEqual((error as? TokenizerError)?.description, "in-memory/tok.json: model: required key is missing")
        }
    }

    /// Issue 14: an added token whose "id" is not the one its place gives it (past the vocabulary, a gap, a
    /// collision, another vocabulary token's id) is an error naming the token and the id, never renumbered.
    func testAddedTokenIDsAreNotRenumbered() throws {
        func load(_ added: String) throws -> Tokenizer {
            try Tokenizer(tokenizerJSON: Data(tokenizerJSON(["added_tokens": added]).utf8), source: "t/tokenizer.json")
        }
        func tok(_ c: String, _ id: Int) -> String { #"{"id": \#(id), "content": "\#(c)", "special": true}"# }
        // The vocabulary has 3 tokens (0..<3): added tokens take 3, 4, ... in order; an existing content keeps its id.
        XCTAssertNoThrow(try load("[" + tok("<s>", 3) + "," + tok("</s>", 4) + "]"))
        XCTAssertNoThrow(try load("[" + tok("ab", 2) + "," + tok("<s>", 3) + "]"))
        for (added, name, id) in [("[" + tok("<s>", 5000) + "]", "<s>", 5000), ("[" + tok("<s>", 4) + "]", "<s>", 4),
                                  ("[" + tok("<s>", 3) + "," + tok("</s>", 7) + "]", "</s>", 7),
                                  ("[" + tok("<s>", 3) + "," + tok("</s>", 3) + "]", "</s>", 3),
                                  ("[" + tok("<s>", 1) + "]", "<s>", 1), ("[" + tok("ab", 0) + "]", "ab", 0)] {
            XCTAssertThrowsError(try load(added), added) { e in
                XCTAssertTrue("\(e)".contains("t/tokenizer.json") && "\(e)".contains("'\(name)'") && "\(e)".contains("id \(id)"), "\(e)")
            }
        }
    }
}
