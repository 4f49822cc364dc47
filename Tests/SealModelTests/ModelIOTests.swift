import Foundation
import XCTest
import SealModel

/// Writing and reading model directories: what `seal model init` writes loads back bit for bit, and dtype
/// conversions round as torch does.
final class ModelIOTests: XCTestCase {
    func testInitRoundTripF32AndShards() throws {
        let dir = temporaryDirectory("init")
        let cfgURL = dir.appendingPathComponent("cfg.json")
        let cfg: [String: Any] = ["model_type": "qwen2", "hidden_size": 32, "intermediate_size": 48, "num_hidden_layers": 2,
                                  "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 300,
                                  "tie_word_embeddings": false, "rope_theta": 10000.0]
        try JSONSerialization.data(withJSONObject: cfg).write(to: cfgURL)
        let out = dir.appendingPathComponent("m")
        let written = try TransformerModel.initDirectory(configURL: cfgURL, out: out, seed: 3, dtype: .f32,
                                                         tokenizerDirectory: nil, maxShardBytes: 20_000)
        XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent("model.safetensors.index.json").path))
        let loaded = try TransformerModel.load(directory: out)
        XCTAssertEqual(loaded.parameterCount, written.parameterCount)
        XCTAssertGreaterThan(loaded.checkpoint!.files.count, 1)
        for i in 0..<loaded.parameterCount { if loaded.params.pointer[i] != written.params.pointer[i] { XCTFail("parameter \(i) differs"); break } }
        // Same seed, same weights; another seed, other weights.
        let again = TransformerModel(config: written.config); again.randomize(seed: 3)
        let other = TransformerModel(config: written.config); other.randomize(seed: 4)
        XCTAssertEqual(Array(again.params.buffer), Array(written.params.buffer))
        XCTAssertNotEqual(Array(other.params.buffer), Array(written.params.buffer))
        // Real spread: embeddings are unit normal, not 0.02.
        let emb = UnsafeBufferPointer(start: written.tensor("model.embed_tokens.weight")!, count: 300 * 32)
        let std = (emb.map { Double($0 * $0) }.reduce(0, +) / Double(emb.count)).squareRoot()
        XCTAssertEqual(std, 1, accuracy: 0.1)
    }

    func testBF16RoundingMatchesTorch() {
        // torch: torch.tensor([1.00390625, 1.01171875, -3.3e-5, 65504.0]).to(torch.bfloat16).view(torch.int16)
        let cases: [(Float, UInt16)] = [(1.0, 0x3F80), (1.00390625, 0x3F80), (1.01171875, 0x3F82), (-2.0, 0xC000), (3.0e38, 0x7F62)]
        for (v, bits) in cases { XCTAssertEqual(SafeTensorsWriter.bf16Bits(v), bits, "\(v)") }
    }

    func testConfigDefaultsAndLlama3Frequencies() throws {
        let json = #"{"model_type":"llama","hidden_size":64,"intermediate_size":128,"num_hidden_layers":1,"num_attention_heads":4,"vocab_size":10,"rope_theta":500000.0,"rope_scaling":{"factor":32.0,"high_freq_factor":4.0,"low_freq_factor":1.0,"original_max_position_embeddings":8192,"rope_type":"llama3"}}"#
        let c = try ModelConfig.parse(data: Data(json.utf8), path: "cfg")
        XCTAssertEqual(c.numKVHeads, 4)
        XCTAssertEqual(c.headDim, 16)
        XCTAssertFalse(c.qkvBias)
        XCTAssertFalse(c.tieWordEmbeddings)
        let inv = c.ropeInverseFrequencies()
        // Reference values from transformers' _compute_llama3_parameters (float32) for dim 16, theta 5e5.
        let ref: [Float] = [1.0, 0.193922758102417, 0.03760603070259094, 0.00729266507551074, 0.000429556705057621,
                            8.570255886297673e-06, 1.6619674170215148e-06, 3.2229328894572973e-07]
        for (a, b) in zip(inv, ref) { XCTAssertEqual(a, b, accuracy: 1e-6 * b) }
    }
}
