import Foundation
import XCTest
import SealTestSupport
import SealModel

/// The repository root (two levels above this file's folder) and the shared data beside it.
enum Repo {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let shared = root.deletingLastPathComponent().appendingPathComponent("shared")
    static func fixture(_ path: String) -> URL { root.appendingPathComponent("Tests/Fixtures").appendingPathComponent(path) }
    static func sharedModel(_ name: String) -> URL { shared.appendingPathComponent("models").appendingPathComponent(name) }
}

func loadJSON(_ url: URL) throws -> [String: Any] {
    let data = try Data(contentsOf: url)
    return try JSONSerialization.jsonObject(with: data) as! [String: Any]
}

func temporaryDirectory(_ tag: String) -> URL {
    let u = scratchRoot.appendingPathComponent("seal-test-\(tag)-\(UUID().uuidString)")
    try! FileManager.default.createDirectory(at: u, withIntermediateDirectories: true)
    return u
}

/// Builds the model a fixture was computed on: the shared pretrained one, or the random one rebuilt by
/// `seal model init` from the recorded config, seed, dtype and shard size.
func fixtureModelDirectory(_ fx: [String: Any]) throws -> URL {
    let name = fx["model"] as! String
    guard let initSpec = fx["init"] as? [String: Any] else { return Repo.sharedModel(name) }
    let dir = temporaryDirectory(name)
    let cfgURL = dir.appendingPathComponent("source-config.json")
    try JSONSerialization.data(withJSONObject: initSpec["config"]!).write(to: cfgURL)
    let dtype: DType = ["bf16": .bf16, "f16": .f16, "f32": .f32][initSpec["dtype"] as! String]!
    let tok = Repo.root.appendingPathComponent(initSpec["tokenizer"] as! String)
    let shard = (initSpec["max_shard_mb"] as? Double).map { Int($0 * 1_000_000) }
    let out = dir.appendingPathComponent("model")
    _ = try TransformerModel.initDirectory(configURL: cfgURL, out: out, seed: UInt64(initSpec["seed"] as! Int),
                                           dtype: dtype, tokenizerDirectory: tok, maxShardBytes: shard)
    return out
}
