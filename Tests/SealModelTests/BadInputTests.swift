import Foundation
import XCTest
import SealModel

/// Every malformed model directory gives a ModelError naming the file and the problem — never a crash.
final class BadInputTests: XCTestCase {
    let good = Repo.sharedModel("tinystories-656k")

    /// A copy of tinystories-656k that a test may damage.
    func copyOfGood() throws -> URL {
        let dir = temporaryDirectory("bad")
        for f in ["config.json", "model.safetensors", "tokenizer.json", "generation_config.json"] {
            try FileManager.default.copyItem(at: good.appendingPathComponent(f), to: dir.appendingPathComponent(f))
        }
        return dir
    }

    func editConfig(_ dir: URL, _ edit: (inout [String: Any]) -> Void) throws {
        let url = dir.appendingPathComponent("config.json")
        var cfg = try loadJSON(url)
        edit(&cfg)
        try JSONSerialization.data(withJSONObject: cfg).write(to: url)
    }

    /// Rewrites the safetensors file with a new header (same data section).
    func rewriteHeader(_ dir: URL, _ edit: (inout [String: Any]) -> Void) throws {
        let url = dir.appendingPathComponent("model.safetensors")
        let data = try Data(contentsOf: url)
        let n = Int(data.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
        var header = try JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + n))) as! [String: Any]
        edit(&header)
        var h = try JSONSerialization.data(withJSONObject: header)
        while h.count % 8 != 0 { h.append(0x20) }
        var out = Data()
        var len = UInt64(h.count).littleEndian
        out.append(Data(bytes: &len, count: 8))
        out.append(h)
        out.append(data.subdata(in: (8 + n)..<data.count))
        try out.write(to: url)
    }

    func expectError(_ dir: URL, contains parts: [String], file: StaticString = #filePath, line: UInt = #line) {
        do {
            _ = try TransformerModel.load(directory: dir)
            XCTFail("loading succeeded; expected an error mentioning \(parts)", file: file, line: line)
        } catch {
            let msg = "\(error)"
            for p in parts { XCTAssertTrue(msg.contains(p), "error '\(msg)' does not mention '\(p)'", file: file, line: line) }
        }
    }

    func testMissingConfigKey() throws {
        let d = try copyOfGood()
        try editConfig(d) { $0.removeValue(forKey: "hidden_size") }
        expectError(d, contains: ["config.json", "hidden_size"])
    }

    func testWrongTypeConfigKey() throws {
        let d = try copyOfGood()
        try editConfig(d) { $0["num_hidden_layers"] = "two" }
        expectError(d, contains: ["config.json", "num_hidden_layers", "integer"])
    }

    func testUnknownModelType() throws {
        let d = try copyOfGood()
        try editConfig(d) { $0["model_type"] = "gpt_neox" }
        expectError(d, contains: ["config.json", "gpt_neox"])
    }

    func testUnsupportedRopeScaling() throws {
        let d = try copyOfGood()
        try editConfig(d) { $0["rope_scaling"] = ["type": "yarn", "factor": 4.0] }
        expectError(d, contains: ["config.json", "yarn"])
    }

    func testKVHeadsMustDivideHeads() throws {
        let d = try copyOfGood()
        try editConfig(d) { $0["num_key_value_heads"] = 3 }
        expectError(d, contains: ["config.json", "num_key_value_heads"])
    }

    func testInvalidConfigJSON() throws {
        let d = try copyOfGood()
        try Data("{\"model_type\": \"llama\",".utf8).write(to: d.appendingPathComponent("config.json"))
        expectError(d, contains: ["config.json", "invalid JSON"])
    }

    func testMissingWeights() throws {
        let d = try copyOfGood()
        try FileManager.default.removeItem(at: d.appendingPathComponent("model.safetensors"))
        expectError(d, contains: ["model.safetensors", "not found"])
    }

    func testTruncatedSafetensors() throws {
        let d = try copyOfGood()
        let url = d.appendingPathComponent("model.safetensors")
        let data = try Data(contentsOf: url)
        try data.prefix(data.count / 2).write(to: url)
        expectError(d, contains: ["model.safetensors", "out of range"])
    }

    func testTinyFile() throws {
        let d = try copyOfGood()
        try Data([1, 2, 3]).write(to: d.appendingPathComponent("model.safetensors"))
        expectError(d, contains: ["model.safetensors", "shorter than"])
    }

    func testHeaderLengthPastEnd() throws {
        let d = try copyOfGood()
        let url = d.appendingPathComponent("model.safetensors")
        var data = try Data(contentsOf: url)
        var big = UInt64(data.count * 2).littleEndian
        data.replaceSubrange(0..<8, with: Data(bytes: &big, count: 8))
        try data.write(to: url)
        expectError(d, contains: ["model.safetensors", "header length"])
    }

    func testOffsetsOutOfRange() throws {
        let d = try copyOfGood()
        try rewriteHeader(d) { h in
            var e = h["model.norm.weight"] as! [String: Any]
            e["data_offsets"] = [10_000_000, 10_000_512]
            h["model.norm.weight"] = e
        }
        expectError(d, contains: ["model.safetensors", "model.norm.weight", "out of range"])
    }

    func testDtypeShapeMismatch() throws {
        let d = try copyOfGood()
        try rewriteHeader(d) { h in
            var e = h["model.norm.weight"] as! [String: Any]
            e["dtype"] = "BF16"   // 128 BF16 values are 256 bytes, the entry spans 512
            h["model.norm.weight"] = e
        }
        expectError(d, contains: ["model.safetensors", "model.norm.weight", "bytes"])
    }

    func testUnsupportedDtype() throws {
        let d = try copyOfGood()
        try rewriteHeader(d) { h in
            var e = h["model.norm.weight"] as! [String: Any]
            e["dtype"] = "I64"
            h["model.norm.weight"] = e
        }
        expectError(d, contains: ["model.safetensors", "I64"])
    }

    func testShapeDisagreesWithConfig() throws {
        let d = try copyOfGood()
        try editConfig(d) { $0["intermediate_size"] = 256 }
        expectError(d, contains: ["model.safetensors", "gate_proj", "shape"])
    }

    func testMissingTensor() throws {
        let d = try copyOfGood()
        // The file written again without the tensor (its bytes gone too: a hole would be refused first).
        let url = d.appendingPathComponent("model.safetensors")
        let st = try SafeTensorsFile(path: url.path)
        let kept = st.tensors.values.filter { $0.name != "model.layers.1.self_attn.k_proj.weight" }.sorted { $0.begin < $1.begin }
        XCTAssertEqual(kept.count, st.tensors.count - 1)
        var flat: [Float] = [], starts: [Int] = []
        for info in kept {
            var v = [Float](repeating: 0, count: info.shape.reduce(1, *))
            v.withUnsafeMutableBufferPointer { st.read(info, into: $0.baseAddress!) }
            starts.append(flat.count)
            flat += v
        }
        try flat.withUnsafeBufferPointer { p in
            let entries = kept.indices.map { i in
                SafeTensorsWriter.Entry(name: kept[i].name, shape: kept[i].shape,
                                        data: UnsafeBufferPointer(rebasing: p[starts[i]..<(i + 1 < kept.count ? starts[i + 1] : p.count)]))
            }
            try SafeTensorsWriter.write(entries, dtype: kept[0].dtype, to: url)
        }
        expectError(d, contains: ["model.safetensors", "model.layers.1.self_attn.k_proj.weight", "missing"])
    }

    func testShardIndexNamesMissingFile() throws {
        let d = try copyOfGood()
        let idx: [String: Any] = ["weight_map": ["model.norm.weight": "model-00002-of-00002.safetensors"]]
        try JSONSerialization.data(withJSONObject: idx).write(to: d.appendingPathComponent("model.safetensors.index.json"))
        expectError(d, contains: ["model-00002-of-00002.safetensors", "not found"])
    }

    func testOutOfVocabularyToken() throws {
        let m = try TransformerModel.load(directory: good)
        XCTAssertThrowsError(try m.forward([[1, 2, 5000]])) { e in
            XCTAssertTrue("\(e)".contains("5000"), "\(e)")
        }
        XCTAssertThrowsError(try m.forward([[Int32](repeating: 5, count: 600)])) { e in
            XCTAssertTrue("\(e)".contains("max_position_embeddings"), "\(e)")
        }
    }

    // MARK: issue 14: absurd sizes and values in config.json

    /// Every size key, at zero, negative, and absurd values, gives an error naming config.json and the key (not an
    /// overflow trap or an allocation failure).
    func testAbsurdConfigSizesAreNamed() throws {
        let keys = ["hidden_size", "intermediate_size", "vocab_size", "num_hidden_layers", "num_attention_heads",
                    "num_key_value_heads", "head_dim", "max_position_embeddings"]
        for key in keys {
            for v: Int in [0, -1, -4096, 1_000_000_000_000, 1 << 41, 999_999_999_999_999] {
                let d = try copyOfGood()
                try editConfig(d) { $0[key] = v }
                expectError(d, contains: ["config.json", "'\(key)'"])
            }
        }
    }

    /// Sizes each within its bound whose product is absurd: the parameter count is computed without overflow and
    /// refused, naming the file, before anything is allocated.
    func testParameterCountIsBoundedAndOverflowSafe() throws {
        let cases: [[String: Int]] = [
            ["hidden_size": 1 << 20, "intermediate_size": 1 << 22, "num_hidden_layers": 1 << 16, "num_attention_heads": 128, "num_key_value_heads": 4],
            ["hidden_size": 1 << 20, "vocab_size": 1 << 24, "num_attention_heads": 128, "num_key_value_heads": 4],
            ["hidden_size": 1 << 18, "intermediate_size": 1 << 22, "num_hidden_layers": 1 << 12, "num_attention_heads": 64, "num_key_value_heads": 4],
        ]
        for c in cases {
            let d = try copyOfGood()
            try editConfig(d) { for (k, v) in c { $0[k] = v } }
            let t0 = Date()
            expectError(d, contains: ["config.json", "parameters"])
            XCTAssertLessThan(Date().timeIntervalSince(t0), 2)
        }
        // The count itself is exact, and nil (not a trap) where Int overflows.
        let cfg = try ModelConfig.load(from: good.appendingPathComponent("config.json"))
        XCTAssertEqual(ParameterLayout.parameterCount(cfg), ParameterLayout(config: cfg).count)
        var untied = cfg; untied.tieWordEmbeddings = false; untied.qkvBias = true; untied.oBias = true; untied.mlpBias = true
        XCTAssertEqual(ParameterLayout.parameterCount(untied), ParameterLayout(config: untied).count)
        var huge = cfg; huge.hiddenSize = 1 << 40; huge.vocabSize = 1 << 40
        XCTAssertNil(ParameterLayout.parameterCount(huge))
    }

    func testHeadsMustDivideHiddenWithoutHeadDim() throws {
        for heads in [3, 7, 100] {
            let d = try copyOfGood()
            try editConfig(d) { $0["num_attention_heads"] = heads; $0["num_key_value_heads"] = heads }
            expectError(d, contains: ["config.json", "num_attention_heads", "divide"])
        }
    }

    /// Raw config text, for values JSONSerialization cannot write (NaN, 1e400).
    func writeRawConfig(_ dir: URL, replacing key: String, with raw: String) throws {
        let url = dir.appendingPathComponent("config.json")
        var text = try String(contentsOf: url, encoding: .utf8)
        let lines = text.components(separatedBy: "\n").map { l in
            l.contains("\"\(key)\"") ? "  \"\(key)\": \(raw)" + (l.hasSuffix(",") ? "," : "") : l
        }
        text = lines.joined(separator: "\n")
        XCTAssertTrue(text.contains(raw))
        try Data(text.utf8).write(to: url)
    }

    func testNormEpsAndRopeThetaMustBeFinite() throws {
        for (key, values) in [("rms_norm_eps", ["-1e-06", "-1", "1e400", "-1e400", "NaN", "Infinity"]),
                              ("rope_theta", ["0", "0.0", "-10000", "1e400", "NaN", "-0.0"])] {
            for v in values {
                let d = try copyOfGood()
                try writeRawConfig(d, replacing: key, with: v)
                // NaN/Infinity are not JSON (Python's json writes them): the error names the key that holds one.
                // (Foundation refuses 1e400 as out of range; a parser that gave inf would meet the key check.)
                expectError(d, contains: ["config.json"])
                if !["1e400", "-1e400"].contains(v) { expectError(d, contains: ["config.json", key]) }
            }
        }
        let d = try copyOfGood()
        try editConfig(d) { $0["rms_norm_eps"] = 0 }   // HF accepts 0 (only an all-zero row would divide by zero)
        XCTAssertNoThrow(try TransformerModel.load(directory: d))
    }

    func testRopeScalingFactorsMustBeSane() throws {
        let bad: [[String: Any]] = [
            ["rope_type": "linear", "factor": 0.0], ["rope_type": "linear", "factor": -2.0],
            ["rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 1.0, "original_max_position_embeddings": 8192],
            ["rope_type": "llama3", "factor": -8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 8192],
            ["rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 0],
        ]
        for r in bad {
            let d = try copyOfGood()
            try editConfig(d) { $0["rope_scaling"] = r }
            expectError(d, contains: ["config.json", "rope_scaling."])
        }
    }

    /// A config claiming far more layers than the checkpoint holds fails with "missing" at once, before the
    /// parameter buffer is allocated (before the fix: 7.7 GB resident for 10,000 layers, then the error).
    func testManyLayersFailFastWithoutAllocating() throws {
        for layers in [3, 10_000, 60_000] {
            let d = try copyOfGood()
            try editConfig(d) { $0["num_hidden_layers"] = layers }
            let before = residentBytes()
            let t0 = Date()
            expectError(d, contains: ["model.safetensors", "model.layers.2.input_layernorm.weight", "missing"])
            XCTAssertLessThan(Date().timeIntervalSince(t0), 2, "\(layers) layers")
            XCTAssertLessThan(residentBytes() - before, 200 << 20, "\(layers) layers: resident memory grew")
        }
    }

    /// The process's resident set now (from /proc/self/statm), in bytes.
    func residentBytes() -> Int {
        guard let s = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let f = s.split(separator: " ")
        return (f.count > 1 ? Int(f[1]) ?? 0 : 0) * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    /// Tensors of layers beyond num_hidden_layers, and tensors the architecture does not have, are refused by name;
    /// a rotary inv_freq buffer (older transformers saved them) is accepted and reported as ignored.
    func testExtraTensorsAreRefusedByName() throws {
        let d = try copyOfGood()
        try editConfig(d) { $0["num_hidden_layers"] = 1 }
        expectError(d, contains: ["model.safetensors", "model.layers.1.", "num_hidden_layers 1"])

        for stray in ["model.layers.0.self_attn.q_proj.bias", "model.layers.7.mlp.up_proj.weight", "model.extra.weight",
                      "lm_head.bias"] {
            let d = try copyOfGood()
            try rewriteHeader(d) { h in h[stray] = ["dtype": "F32", "shape": [0], "data_offsets": [0, 0]] }
            expectError(d, contains: ["model.safetensors", stray])
        }
        let ok = try copyOfGood()
        try rewriteHeader(ok) { h in
            h["model.layers.0.self_attn.rotary_emb.inv_freq"] = ["dtype": "F32", "shape": [0], "data_offsets": [0, 0]]
        }
        let m = try TransformerModel.load(directory: ok)
        XCTAssertEqual(m.checkpoint?.ignoredTensors, ["model.layers.0.self_attn.rotary_emb.inv_freq"])
    }

    // MARK: issue 14: malformed safetensors headers

    func editNorm(_ edit: @escaping (inout [String: Any]) -> Void) throws -> URL {
        let d = try copyOfGood()
        try rewriteHeader(d) { h in
            var e = h["model.norm.weight"] as! [String: Any]
            edit(&e)
            h["model.norm.weight"] = e
        }
        return d
    }

    func testShapesThatOverflowAreRefused() throws {
        let big: [[Int]] = [[1 << 32, 1 << 32], [4, 1 << 52, 1 << 10], [1 << 40, 1 << 40, 1 << 40], [1 << 31, 1 << 31]]
        for shape in big {
            let d = try editNorm { $0["shape"] = shape }
            expectError(d, contains: ["model.safetensors", "model.norm.weight", "overflows"])
        }
        // Dimensions past 2^53 (the issue's [2^62, 4], Int.max) are refused as dimensions, before any product.
        let past: [[Int]] = [[1 << 62, 4], [Int.max, 2], [4, 1 << 61]]
        for shape in past {
            let d = try editNorm { $0["shape"] = shape }
            expectError(d, contains: ["model.safetensors", "model.norm.weight", "shape"])
        }
    }

    func testNonIntegerShapesAndOffsetsAreRefused() throws {
        for shape: [Any] in [[128.5], [-128], [true], ["128"], [1e30]] {
            let d = try editNorm { $0["shape"] = shape }
            expectError(d, contains: ["model.safetensors", "model.norm.weight", "shape"])
        }
        for offs: [Any] in [[2623488.5, 2624000.5], [2623488, 2624000.25], [-512, 0], [2624000, 2623488], [2623488],
                            [2623488, 2624000, 2624512], [false, 512], [1e300, 1e300]] {
            let d = try editNorm { $0["data_offsets"] = offs }
            expectError(d, contains: ["model.safetensors", "model.norm.weight"])
        }
    }

    func testOverlappingTensorsAreRefused() throws {
        // model.norm.weight onto layer 0's input norm (same size), and onto half of it plus the next tensor.
        for offs in [[1048576, 1049088], [1048832, 1049344], [0, 512]] {
            let d = try editNorm { $0["data_offsets"] = offs }
            expectError(d, contains: ["model.safetensors", "model.norm.weight", "overlap"])
        }
    }

    /// The data_offsets must tile the data section, as the safetensors library requires: bytes after the last
    /// tensor, or a hole where a tensor was moved away from, are refused naming the file.
    func testGapsAndTrailingBytesAreRefused() throws {
        func append(_ d: URL, _ n: Int) throws {
            let h = try FileHandle(forWritingTo: d.appendingPathComponent("model.safetensors"))
            try h.seekToEnd()
            try h.write(contentsOf: Data(count: n))
            try h.close()
        }
        for n in [1, 8, 4096] {
            let d = try copyOfGood()
            try append(d, n)
            expectError(d, contains: ["model.safetensors", "trailing bytes"])
        }
        // model.norm.weight moved past the end (its bytes appended there): a hole where it was.
        let d = try copyOfGood()
        var size = 0
        try rewriteHeader(d) { h in
            let ends = h.compactMap { ($0.value as? [String: Any])?["data_offsets"] as? [Int] }.map { $0[1] }
            let end = ends.max()!
            var e = h["model.norm.weight"] as! [String: Any]
            let o = e["data_offsets"] as! [Int]
            size = o[1] - o[0]
            e["data_offsets"] = [end, end + size]
            h["model.norm.weight"] = e
        }
        try append(d, size)
        expectError(d, contains: ["model.safetensors", "belong to no tensor"])
    }

    func testAbsurdHeaderLengthIsRefused() throws {
        // A sparse 200 MB file whose header claims 150 MB: refused by length, before anything is parsed.
        let d = try copyOfGood()
        let url = d.appendingPathComponent("model.safetensors")
        var len = UInt64(150_000_000).littleEndian
        try Data(bytes: &len, count: 8).write(to: url)
        let h = try FileHandle(forWritingTo: url)
        try h.truncate(atOffset: 200_000_000)
        try h.close()
        expectError(d, contains: ["model.safetensors", "header length", "100 MB"])
        for n in [UInt64.max, UInt64(Int.max), 1 << 63] {
            var l = n.littleEndian
            var data = Data(bytes: &l, count: 8); data.append(Data(count: 64))
            try data.write(to: url)
            expectError(d, contains: ["model.safetensors", "header length"])
        }
    }

    /// `seal model init` of a config whose weights would not fit this machine's memory: an error, not an abort.
    func testInitRefusesAModelLargerThanMemory() throws {
        let d = temporaryDirectory("init-huge")
        var cfg = try loadJSON(good.appendingPathComponent("config.json"))
        // About 4.3e11 parameters (1.7 TB in float32): under the 2^40 bound, over any node's memory.
        cfg["hidden_size"] = 1 << 14; cfg["intermediate_size"] = 1 << 16; cfg["num_hidden_layers"] = 100
        cfg["num_attention_heads"] = 128; cfg["num_key_value_heads"] = 128
        let url = d.appendingPathComponent("config.json")
        try JSONSerialization.data(withJSONObject: cfg).write(to: url)
        XCTAssertThrowsError(try TransformerModel.initDirectory(configURL: url, out: d.appendingPathComponent("m"), seed: 1,
                                                                dtype: .f32, tokenizerDirectory: nil)) { e in
            XCTAssertTrue("\(e)".contains("config.json") && "\(e)".contains("memory"), "\(e)")
        }
    }
}
