import Foundation
import XCTest
import SealModel
import SealTestSupport

/// GGUF files (fixtures from scripts/fixtures/gguf.py): the reader against gguf-py, dequantization against
/// `gguf.quants.dequantize`, models against transformers 4.47.1 `from_pretrained(dir, gguf_file=...)`, and every
/// malformed file a ModelError naming the file and the key or tensor.
///
/// Tolerances: dequantization is bit-exact (0 ulp: the kernels compute in the reference's float32 order). Logits as
/// the safetensors forward tests (ForwardTests): every compared logit and log-sum-exp within 1e-4 × the largest
/// |logit| of that sequence.
final class GGUFTests: XCTestCase {
    static let logitTolerance = 1e-4

    func fixture(_ name: String) -> URL { Repo.fixture("gguf/\(name)") }

    // MARK: reader and dequantization

    func testDequantizationEqualsGGUFPy() throws {
        let q = try GGUFFile(path: fixture("types.gguf").path)
        let ref = try GGUFFile(path: fixture("types-reference.gguf").path)
        let manifest = try loadJSON(fixture("types.json"))["tensors"] as! [String: [String: Any]]
        XCTAssertEqual(q.alignment, 64)
        XCTAssertEqual(q.dataOffset % 64, 0)
        var seen = Set<String>()
        for t in q.tensors {
            let expected = try XCTUnwrap(ref.tensor(t.name), t.name)
            XCTAssertEqual(expected.type, .f32)
            XCTAssertEqual(t.shape, expected.shape, t.name)
            XCTAssertEqual(t.shape, [2, 512], t.name)
            let mine = try q.floats(t.name), theirs = try ref.floats(t.name)
            var differing = 0, worst: Float = 0
            for (a, b) in zip(mine, theirs) where a.bitPattern != b.bitPattern && !(a.isNaN && b.isNaN) {
                differing += 1; worst = max(worst, abs(a - b))
            }
            XCTAssertEqual(differing, 0, "\(t.type.name): \(differing) of \(mine.count) values differ from gguf.quants.dequantize (worst |Δ| \(worst))")
            // The reference file's F32 path itself, against the values the script printed.
            let m = try XCTUnwrap(manifest[t.name])
            XCTAssertEqual(m["type"] as? String, t.type.name)
            for (i, v) in (m["first"] as! [String]).enumerated() { XCTAssertEqual(Double(theirs[i]), Double(v), "\(t.name)[\(i)]") }
            print("dequant \(t.type.name): \(mine.count) values, \(differing) differ from gguf-py (bit-exact)")
            seen.insert(t.type.name)
        }
        XCTAssertEqual(seen, Set(GGMLType.dequantizable.map(\.name)), "types.gguf must hold every dequantizable type")
    }

    /// Every metadata value type, nested arrays, 64-bit extremes and UTF-8, as gguf-py wrote them.
    func testMetadataOfEveryType() throws {
        let f = try GGUFFile(path: fixture("types.gguf").path)
        XCTAssertEqual(f.version, 3)
        let manifest = try loadJSON(fixture("types.json"))["metadata"] as! [String: [Any]]
        XCTAssertEqual(Set(f.metadataKeys), Set(manifest.keys))
        func integerString(_ v: GGUFValue) -> String? { if case .uint64(let u) = v { return String(u) }; return v.integer.map(String.init) }
        func same(_ v: GGUFValue, _ e: [Any], _ key: String) {
            let type = e[0] as! String
            if case .array(let a) = v {
                XCTAssertEqual(type, "array", key)
                XCTAssertEqual(a.elementTypeName, e[1] as? String, key)
                sameArray(a, e[2] as! [Any], key)
                return
            }
            XCTAssertEqual(v.typeName, type, key)
            switch type {
            case "string": XCTAssertEqual(v.string, e[1] as? String, key)
            case "bool": XCTAssertEqual(v.bool, e[1] as? Bool, key)
            case "float32", "float64": XCTAssertEqual(v.number, (e[1] as? String).flatMap(Double.init), key)
            default: XCTAssertEqual(integerString(v), e[1] as? String, key)
            }
        }
        func sameArray(_ a: GGUFArray, _ e: [Any], _ key: String) {
            XCTAssertEqual(a.count, e.count, key)
            switch a {
            case .string(let s): XCTAssertEqual(s, e as? [String], key)
            case .bool(let b): XCTAssertEqual(b, e as? [Bool], key)
            case .float32(let x): XCTAssertEqual(x.map(Double.init), (e as? [String])?.compactMap(Double.init), key)
            case .array(let inner): for (x, y) in zip(inner, e) { sameArray(x, y as! [Any], key) }
            default: XCTAssertEqual(a.integers?.map(String.init), e as? [String], key)
            }
        }
        for (key, e) in manifest { same(try XCTUnwrap(f.value(key), key), e, key) }
        // The typed accessors the tokenizer uses.
        XCTAssertEqual(try f.strings("test.strings"), ["a", "", "ü", "<|im_start|>"])
        XCTAssertEqual(try f.ints("test.ints"), [1, -2, 3])
        XCTAssertEqual(try f.floats(key: "test.floats"), [0.5, -1.25])
        XCTAssertEqual(try f.string("general.architecture"), "seal-test")
        XCTAssertThrowsError(try f.int("test.string")) { XCTAssertTrue("\($0)".contains("test.string")) }
        XCTAssertThrowsError(try f.int("no.such.key")) { XCTAssertTrue("\($0)".contains("no.such.key")) }
    }

    /// Version 2 has the same layout as 3.
    func testVersion2Reads() throws {
        var data = try Data(contentsOf: fixture("types.gguf"))
        data[4] = 2
        let f = try GGUFFile(data: data, name: "v2.gguf")
        XCTAssertEqual(f.version, 2)
        let ref = try GGUFFile(path: fixture("types.gguf").path)
        XCTAssertEqual(f.metadata, ref.metadata)
        for t in ref.tensors { XCTAssertEqual(try f.floats(t.name), try ref.floats(t.name), t.name) }
    }

    // MARK: models against transformers

    func compareModel(_ name: String, gguf: URL? = nil, file: StaticString = #filePath, line: UInt = #line) throws -> TransformerModel {
        let fx = try loadJSON(fixture("\(name).json"))
        let start = Date()
        let model = try TransformerModel.load(directory: gguf ?? fixture("\(name).gguf"))
        let loadSeconds = Date().timeIntervalSince(start)
        let c = model.config, e = fx["config"] as! [String: Any]
        XCTAssertEqual(c.vocabSize, e["vocab_size"] as? Int, file: file, line: line)
        XCTAssertEqual(c.hiddenSize, e["hidden_size"] as? Int, file: file, line: line)
        XCTAssertEqual(c.numLayers, e["num_hidden_layers"] as? Int, file: file, line: line)
        XCTAssertEqual(c.numHeads, e["num_attention_heads"] as? Int, file: file, line: line)
        XCTAssertEqual(c.numKVHeads, e["num_key_value_heads"] as? Int, file: file, line: line)
        XCTAssertEqual(c.intermediateSize, e["intermediate_size"] as? Int, file: file, line: line)
        XCTAssertEqual(c.ropeTheta, e["rope_theta"] as? Double, file: file, line: line)
        XCTAssertEqual(c.rmsNormEps, e["rms_norm_eps"] as? Double, file: file, line: line)
        XCTAssertEqual(c.tieWordEmbeddings, e["tie_word_embeddings"] as? Bool, file: file, line: line)
        XCTAssertEqual(c.maxPositionEmbeddings, e["max_position_embeddings"] as? Int, file: file, line: line)
        XCTAssertEqual(model.checkpoint?.format, "gguf")

        let columns = fx["columns"] as! [Int]
        var worstAbs = 0.0, worstRel = 0.0, failures = 0
        for (ci, cs) in (fx["cases"] as! [[String: Any]]).enumerated() {
            let ids = (cs["ids"] as! [Int]).map(Int32.init)
            let logits = try model.forward([ids])
            let values = cs["values"] as! [[Double]], lse = cs["lse"] as! [Double], argmax = cs["argmax"] as! [Int]
            let scale = cs["scale"] as! Double
            XCTAssertEqual(logits.rowCount[0], ids.count, file: file, line: line)
            for t in 0..<ids.count {
                let row = Array(logits.row(sequence: 0, position: t))
                for (j, col) in columns.enumerated() {
                    let d = abs(Double(row[col]) - values[t][j])
                    worstAbs = max(worstAbs, d); worstRel = max(worstRel, d / scale)
                    if d >= Self.logitTolerance * scale && failures < 3 {
                        failures += 1
                        XCTFail("\(name) case \(ci) position \(t) column \(col): \(row[col]) vs transformers \(values[t][j]) (tolerance \(Self.logitTolerance * scale))", file: file, line: line)
                    }
                }
                var m = -Float.infinity
                for v in row where v > m { m = v }
                let mine = Double(m) + log(row.reduce(0.0) { $0 + exp(Double($1 - m)) })
                worstAbs = max(worstAbs, abs(mine - lse[t])); worstRel = max(worstRel, abs(mine - lse[t]) / scale)
                XCTAssertLessThan(abs(mine - lse[t]), Self.logitTolerance * scale, "\(name) case \(ci) position \(t): logsumexp", file: file, line: line)
                let best = row.indices.max { row[$0] < row[$1] }!
                if best != argmax[t] {
                    XCTAssertLessThan(abs(Double(row[best] - row[argmax[t]])), Self.logitTolerance * scale,
                                      "\(name) case \(ci) position \(t): argmax \(best) vs transformers \(argmax[t])", file: file, line: line)
                }
            }
        }
        print(String(format: "%@: logits vs transformers max |Δ| %.3g, max |Δ|/scale %.3g; loaded in %.3f s (%@)",
                     name, worstAbs, worstRel, loadSeconds, (model.checkpoint?.dtypes ?? []).joined(separator: ",")))
        return model
    }

    func testTinyLlamaMatchesTransformers() throws {
        let m = try compareModel("llama-tiny")
        XCTAssertFalse(m.config.qkvBias)
    }

    func testTinyQwen2MatchesTransformers() throws {
        let m = try compareModel("qwen2-tiny")
        XCTAssertTrue(m.config.qkvBias)
    }

    /// SmolLM2-135M-Instruct (Q4_1, Q8_0 and F32 tensors) as scripts/get-model.sh fetches it from PyPI.
    func testSmolLM2MatchesTransformers() throws {
        let url = try TestModels.smolLM2()
        let start = Date()
        let f = try GGUFFile(path: url.path)
        print(String(format: "smollm2: header, metadata (%d keys, %d tokens) and %d tensor infos parsed in %.3f s", f.metadata.count,
                     try f.array("tokenizer.ggml.tokens").count, f.tensors.count, Date().timeIntervalSince(start)))
        let m = try compareModel("smollm2", gguf: url)
        XCTAssertEqual(m.checkpoint?.dtypes, ["F32", "Q4_1", "Q8_0"])
        XCTAssertEqual(m.config.family, .llama)
        XCTAssertEqual(m.config.headDim, 64)
    }

    func testTinyModelsHoldEveryType() throws {
        var types = Set<String>()
        for name in ["llama-tiny", "qwen2-tiny"] { for t in try GGUFFile(path: fixture("\(name).gguf").path).tensors { types.insert(t.type.name) } }
        XCTAssertEqual(types, Set(GGMLType.dequantizable.map(\.name)))
    }

    // MARK: bad input: each a named error, never a crash

    func expectError(_ data: Data, name: String = "bad.gguf", model: Bool = false, contains parts: [String],
                     file: StaticString = #filePath, line: UInt = #line) {
        let url = temporaryDirectory("gguf").appendingPathComponent(name)
        do { try data.write(to: url) } catch { XCTFail("\(error)"); return }
        let start = Date()
        do {
            if model { _ = try TransformerModel.load(directory: url) } else {
                let f = try GGUFFile(path: url.path)
                for t in f.tensors { _ = try f.floats(t.name) }
            }
            XCTFail("no error; expected one mentioning \(parts)", file: file, line: line)
        } catch {
            let msg = "\(error)"
            XCTAssertTrue(error is ModelError, "\(msg) is not a ModelError", file: file, line: line)
            for p in [url.lastPathComponent] + parts {
                XCTAssertTrue(msg.contains(p), "error '\(msg)' does not mention '\(p)'", file: file, line: line)
            }
        }
        XCTAssertLessThan(Date().timeIntervalSince(start), 2, "\(parts): slow to fail", file: file, line: line)
    }

    func llamaImage() throws -> GGUFImage { try GGUFImage(file: GGUFFile(path: fixture("llama-tiny.gguf").path)) }

    func testWrongMagic() throws {
        var d = try Data(contentsOf: fixture("types.gguf"))
        d.replaceSubrange(0..<4, with: Data("GGML".utf8))
        expectError(d, contains: ["wrong magic", "GGML"])
        expectError(Data("{\"not\": \"gguf\"}".utf8), contains: ["wrong magic"])
    }

    func testTruncatedHeader() throws {
        let d = try Data(contentsOf: fixture("types.gguf"))
        expectError(Data(), contains: ["truncated header"])
        expectError(d.prefix(3), contains: ["truncated header"])
        expectError(d.prefix(20), contains: ["truncated header"])
        // Cut inside the metadata and inside the tensor infos.
        expectError(d.prefix(100), contains: ["truncated"])
        expectError(d.prefix(1000), contains: ["truncated"])
    }

    func testTruncatedData() throws {
        let d = try Data(contentsOf: fixture("types.gguf"))
        // The last tensor (840 bytes of Q6_K, then padding to 64) loses its final bytes.
        expectError(d.prefix(d.count - 100), contains: ["t.Q6_K", "run past the end", "truncated data"])
        let m = try Data(contentsOf: fixture("qwen2-tiny.gguf"))
        expectError(m.prefix(m.count - 1), model: true, contains: ["output.weight", "run past the end"])
    }

    func testTensorPastTheEnd() throws {
        var img = try llamaImage()
        img.tensors[3].offsetOverride = 1 << 40
        expectError(img.encoded(), contains: [img.tensors[3].name, "run past the end"])
        img.tensors[3].offsetOverride = UInt64.max - 31   // aligned, and offset + size overflows 64 bits
        expectError(img.encoded(), contains: [img.tensors[3].name, "run past the end"])
        img.tensors[3].offsetOverride = 33
        expectError(img.encoded(), contains: [img.tensors[3].name, "not a multiple of the alignment"])
    }

    func testOverlappingTensors() throws {
        var img = try llamaImage()
        img.tensors[2].offsetOverride = 0
        expectError(img.encoded(), contains: ["overlap", img.tensors[2].name])
    }

    func testUnknownTensorType() throws {
        var img = try llamaImage()
        img.tensors[1].type = 99
        expectError(img.encoded(), contains: [img.tensors[1].name, "unknown ggml type 99"])
    }

    func testUndequantizableType() throws {
        // IQ4_NL has Q4_0's block size: the file opens, the tensor cannot be read.
        var img = try llamaImage()
        let i = try XCTUnwrap(img.tensors.firstIndex { $0.type == GGMLType.q4_0.rawValue })
        img.tensors[i].type = GGMLType.iq4_nl.rawValue
        let name = img.tensors[i].name
        expectError(img.encoded(), contains: [name, "IQ4_NL"])
        expectError(img.encoded(), model: true, contains: [name, "IQ4_NL"])
    }

    func testHugeCounts() throws {
        func header(tensors: UInt64, kvs: UInt64) -> Data {
            var d = Data("GGUF".utf8); d.u32(3); d.u64(tensors); d.u64(kvs); return d
        }
        expectError(header(tensors: 1 << 40, kvs: 0) + Data(count: 64), contains: ["1099511627776 tensors"])
        expectError(header(tensors: 0, kvs: UInt64.max), contains: ["18446744073709551615 metadata"])
        // A string of 2^63 bytes (the key), then one of 2^63 − 1 (a value).
        var s = header(tensors: 0, kvs: 1); s.u64(1 << 63); s += Data(count: 32)
        expectError(s, contains: ["9223372036854775808 bytes", "metadata key 0"])
        var v = header(tensors: 0, kvs: 1); v.str("k"); v.u32(8); v.u64((1 << 63) - 1); v += Data(count: 32)
        expectError(v, contains: ["'k'", "runs past the end"])
        // Arrays of 2^40 floats, 2^40 strings, 2^62 arrays.
        for (type, count) in [(UInt32(6), UInt64(1) << 40), (8, 1 << 40), (9, 1 << 62)] {
            var a = header(tensors: 0, kvs: 1); a.str("tokenizer.ggml.tokens"); a.u32(9); a.u32(type); a.u64(count); a += Data(count: 64)
            expectError(a, contains: ["tokenizer.ggml.tokens", "\(count)"])
        }
        // Arrays nested past the depth limit.
        var n = header(tensors: 0, kvs: 1); n.str("deep"); n.u32(9)
        for _ in 0..<20 { n.u32(9); n.u64(1) }
        n.u32(0); n.u64(0)
        expectError(n, contains: ["'deep'", "nested"])
        // A tensor with 2^61 × 2^61 elements, one with 5 dimensions.
        var img = try llamaImage()
        img.tensors[0].dims = [1 << 61, 1 << 61]
        expectError(img.encoded(), contains: [img.tensors[0].name, "overflow"])
        // 2^62 − 1 float32s: the row's bytes alone overflow.
        img = try llamaImage()
        let f32 = try XCTUnwrap(img.tensors.firstIndex { $0.type == GGMLType.f32.rawValue })
        img.tensors[f32].dims = [(1 << 62) - 1]
        expectError(img.encoded(), contains: [img.tensors[f32].name, "overflow"])
        img = try llamaImage()
        img.tensors[0].dims = [64, 1, 1, 1, 384]
        expectError(img.encoded(), contains: [img.tensors[0].name, "5 dimensions"])
    }

    func testBadHeaderValues() throws {
        var d = try Data(contentsOf: fixture("types.gguf"))
        d[4] = 1
        expectError(d, contains: ["version 1"])
        d[4] = 0; d[7] = 3
        expectError(d, contains: ["big-endian"])
        var img = try llamaImage()
        img.metadata.append(("general.alignment", .uint32(48)))
        expectError(img.encoded(), contains: ["general.alignment", "power of two"])
        img = try llamaImage()
        img.metadata.append(img.metadata[1])
        expectError(img.encoded(), contains: ["'\(img.metadata[1].0)' appears twice"])
        img = try llamaImage()
        img.tensors.append(img.tensors[0])
        expectError(img.encoded(), contains: ["'\(img.tensors[0].name)' appears twice"])
        var b = Data("GGUF".utf8); b.u32(3); b.u64(0); b.u64(1); b.str("flag"); b.u32(7); b.append(2)
        expectError(b, contains: ["'flag'", "neither 0 nor 1"])
        var t = Data("GGUF".utf8); t.u32(3); t.u64(0); t.u64(1); t.str("odd"); t.u32(13); t += Data(count: 16)
        expectError(t, contains: ["'odd'", "unknown value type 13"])
        var r = Data("GGUF".utf8); r.u32(3); r.u64(1); r.u64(0); r.str("row"); r.u32(1); r.u64(33); r.u32(GGMLType.q8_0.rawValue); r.u64(0)
        expectError(r + Data(count: 64), contains: ["'row'", "not a multiple of Q8_0's block of 32"])
    }

    func testModelErrors() throws {
        var img = try llamaImage()
        img.setString("general.architecture", "gpt2")
        expectError(img.encoded(), model: true, contains: ["architecture 'gpt2'"])

        img = try llamaImage()
        var tokens = try XCTUnwrap(img.value("tokenizer.ggml.tokens")?.array?.strings)
        tokens.append("<extra>")
        img.set("tokenizer.ggml.tokens", .array(.string(tokens)))
        expectError(img.encoded(), model: true, contains: ["tokenizer.ggml.tokens", "385 tokens", "384 rows"])

        img = try llamaImage()
        img.set("llama.vocab_size", .uint32(400))
        expectError(img.encoded(), model: true, contains: ["llama.vocab_size", "400"])

        img = try llamaImage()
        img.tensors.removeAll { $0.name == "blk.1.ffn_up.weight" }
        expectError(img.encoded(), model: true, contains: ["blk.1.ffn_up.weight", "missing"])

        img = try llamaImage()
        img.tensors.removeAll { $0.name.hasPrefix("blk.2.") }
        expectError(img.encoded(), model: true, contains: ["blk.2.attn_norm.weight", "missing"])

        img = try llamaImage()
        img.set("llama.block_count", .uint32(2))
        expectError(img.encoded(), model: true, contains: ["blk.2.", "block_count is 2"])

        img = try llamaImage()
        img.metadata.removeAll { $0.0 == "llama.embedding_length" }
        expectError(img.encoded(), model: true, contains: ["llama.embedding_length", "missing"])

        img = try llamaImage()
        img.set("llama.attention.head_count_kv", .uint32(3))
        expectError(img.encoded(), model: true, contains: ["llama.attention.head_count_kv"])

        img = try llamaImage()
        img.set("llama.feed_forward_length", .string("many"))
        expectError(img.encoded(), model: true, contains: ["llama.feed_forward_length", "integer", "string"])

        img = try llamaImage()
        img.set("llama.block_count", .uint64(1 << 40))
        expectError(img.encoded(), model: true, contains: ["llama.block_count", "large"])

        img = try llamaImage()
        img.set("llama.embedding_length", .uint32(128))
        expectError(img.encoded(), model: true, contains: ["token_embd.weight", "[384, 128]"])

        img = try llamaImage()
        let i = try XCTUnwrap(img.tensors.firstIndex { $0.name == "output_norm.weight" })
        var extra = img.tensors[i]; extra.name = "mystery.weight"
        img.tensors.append(extra)
        expectError(img.encoded(), model: true, contains: ["mystery.weight", "no such tensor"])

        img = try llamaImage()
        img.set("llama.rope.scaling.type", .string("yarn"))
        expectError(img.encoded(), model: true, contains: ["llama.rope.scaling.type", "yarn"])
    }

    /// The test writer reproduces the fixture byte for byte, so the edited images above differ from a valid file
    /// only in the edit.
    func testImageRoundTrip() throws {
        for name in ["llama-tiny.gguf", "qwen2-tiny.gguf", "types.gguf"] {
            let data = try Data(contentsOf: fixture(name))
            XCTAssertEqual(try GGUFImage(file: GGUFFile(path: fixture(name).path)).encoded(), data, name)
        }
    }
}

// MARK: a GGUF writer for the tests (encodes what GGUFFile reads, so that tests can edit a valid file)

extension Data {
    mutating func u32(_ v: UInt32) { Swift.withUnsafeBytes(of: v.littleEndian) { append(contentsOf: $0) } }
    mutating func u64(_ v: UInt64) { Swift.withUnsafeBytes(of: v.littleEndian) { append(contentsOf: $0) } }
    mutating func str(_ s: String) { u64(UInt64(s.utf8.count)); append(contentsOf: Array(s.utf8)) }
}

struct GGUFImage {
    struct Tensor {
        var name: String
        var dims: [Int]
        var type: UInt32
        var data: [UInt8]
        var offsetOverride: UInt64?
    }

    var version: UInt32 = 3
    var metadata: [(String, GGUFValue)]
    var tensors: [Tensor]
    var alignment: Int

    init(file f: GGUFFile) throws {
        version = UInt32(f.version)
        metadata = f.metadataKeys.map { ($0, f.metadata[$0]!) }
        alignment = f.alignment
        tensors = f.tensors.map { Tensor(name: $0.name, dims: $0.dims, type: $0.type.rawValue, data: Array(f.bytes(of: $0))) }
    }

    func value(_ key: String) -> GGUFValue? { metadata.first { $0.0 == key }?.1 }
    mutating func set(_ key: String, _ v: GGUFValue) {
        if let i = metadata.firstIndex(where: { $0.0 == key }) { metadata[i].1 = v } else { metadata.append((key, v)) }
    }
    mutating func setString(_ key: String, _ s: String) { set(key, .string(s)) }

    static func typeCode(_ v: GGUFValue) -> UInt32 {
        switch v {
        case .uint8: 0
        case .int8: 1
        case .uint16: 2
        case .int16: 3
        case .uint32: 4
        case .int32: 5
        case .float32: 6
        case .bool: 7
        case .string: 8
        case .array: 9
        case .uint64: 10
        case .int64: 11
        case .float64: 12
        }
    }

    static func encode(_ v: GGUFValue, into d: inout Data) {
        switch v {
        case .uint8(let x): d.append(x)
        case .int8(let x): d.append(UInt8(bitPattern: x))
        case .uint16(let x): Swift.withUnsafeBytes(of: x.littleEndian) { d.append(contentsOf: $0) }
        case .int16(let x): Swift.withUnsafeBytes(of: x.littleEndian) { d.append(contentsOf: $0) }
        case .uint32(let x): d.u32(x)
        case .int32(let x): d.u32(UInt32(bitPattern: x))
        case .uint64(let x): d.u64(x)
        case .int64(let x): d.u64(UInt64(bitPattern: x))
        case .float32(let x): d.u32(x.bitPattern)
        case .float64(let x): d.u64(x.bitPattern)
        case .bool(let x): d.append(x ? 1 : 0)
        case .string(let s): d.str(s)
        case .array(let a): encode(a, into: &d)
        }
    }

    static func encode(_ a: GGUFArray, into d: inout Data) {
        func elements<T>(_ code: UInt32, _ xs: [T], _ wrap: (T) -> GGUFValue) {
            d.u32(code); d.u64(UInt64(xs.count)); for x in xs { encode(wrap(x), into: &d) }
        }
        switch a {
        case .uint8(let x): elements(0, x, GGUFValue.uint8)
        case .int8(let x): elements(1, x, GGUFValue.int8)
        case .uint16(let x): elements(2, x, GGUFValue.uint16)
        case .int16(let x): elements(3, x, GGUFValue.int16)
        case .uint32(let x): elements(4, x, GGUFValue.uint32)
        case .int32(let x): elements(5, x, GGUFValue.int32)
        case .float32(let x): elements(6, x, GGUFValue.float32)
        case .bool(let x): elements(7, x, GGUFValue.bool)
        case .string(let x): elements(8, x, GGUFValue.string)
        case .uint64(let x): elements(10, x, GGUFValue.uint64)
        case .int64(let x): elements(11, x, GGUFValue.int64)
        case .float64(let x): elements(12, x, GGUFValue.float64)
        case .array(let x): d.u32(9); d.u64(UInt64(x.count)); for inner in x { encode(inner, into: &d) }
        }
    }

    /// The file: header, metadata, tensor infos, padding, data (each tensor padded to the alignment, in order).
    func encoded() -> Data {
        var d = Data("GGUF".utf8)
        d.u32(version); d.u64(UInt64(tensors.count)); d.u64(UInt64(metadata.count))
        for (k, v) in metadata { d.str(k); d.u32(Self.typeCode(v)); Self.encode(v, into: &d) }
        func pad(_ n: Int) -> Int { (n + alignment - 1) / alignment * alignment }
        var offset = 0
        var offsets: [Int] = []
        for t in tensors { offsets.append(offset); offset = pad(offset + t.data.count) }
        for (t, o) in zip(tensors, offsets) {
            d.str(t.name); d.u32(UInt32(t.dims.count)); for n in t.dims { d.u64(UInt64(n)) }
            d.u32(t.type); d.u64(t.offsetOverride ?? UInt64(o))
        }
        d += Data(count: pad(d.count) - d.count)
        for t in tensors { d += t.data; d += Data(count: pad(t.data.count) - t.data.count) }
        return d
    }
}
