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
        try rewriteHeader(d) { h in h.removeValue(forKey: "model.layers.1.self_attn.k_proj.weight") }
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
}
