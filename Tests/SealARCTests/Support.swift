import Foundation
import XCTest
import SealTestSupport
import SealARC

/// Paths and helpers shared by the ARC tests.
enum ARCTestData {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let shared = root.deletingLastPathComponent().appendingPathComponent("shared")
    static let arcDir = shared.appendingPathComponent("data/seal-reference/few-shot/data")
    static func arc(_ name: String) -> String { arcDir.appendingPathComponent(name).path }
    static let fixture = root.appendingPathComponent("Tests/Fixtures/arc/arc.json")
    static let llama3Tokenizer = shared.appendingPathComponent("models/llama3-tokenizer")
    static let qwenTokenizer = shared.appendingPathComponent("models/qwen2.5-tokenizer")
    static let tiny = shared.appendingPathComponent("models/tinystories-656k")

    /// The fixture written by scripts/fixtures/arc.py.
    nonisolated(unsafe) static let oracle: [String: Any] = {
        let d = try! Data(contentsOf: fixture)
        return try! JSONSerialization.jsonObject(with: d) as! [String: Any]
    }()

    /// The training tasks with solutions (loaded once).
    static let training: [ARCTask] = try! ARCData.load(arc("arc-agi_training_challenges.json"), solutions: arc("arc-agi_training_solutions.json"))
    static let evaluation: [ARCTask] = try! ARCData.load(arc("arc-agi_evaluation_challenges.json"), solutions: arc("arc-agi_evaluation_solutions.json"))

    static func task(_ id: String) -> ARCTask { (training + evaluation).first { $0.id == id }! }
}

/// A fixture grid: rows of digits joined by '/'.
func fixtureGrid(_ s: String) -> Grid {
    Grid(s.split(separator: "/").map { $0.map { Int(String($0))! } })!
}

/// A fixture task: {"train": [[in, out]], "test": [[in, out]]}.
func fixtureTask(_ any: Any, id: String) -> ARCTask {
    let d = any as! [String: Any]
    let train = (d["train"] as! [[String]]).map { ARCPair(input: fixtureGrid($0[0]), output: fixtureGrid($0[1])) }
    let test = (d["test"] as! [[String]]).map { ARCTest(input: fixtureGrid($0[0]), output: fixtureGrid($0[1])) }
    return ARCTask(id: id, train: train, test: test)
}

/// A grid as the fixture writes it.
func fixtureText(_ g: Grid) -> String {
    (0..<g.rows).map { r in (0..<g.cols).map { String(g[r, $0]) }.joined() }.joined(separator: "/")
}

/// A temporary folder of this test process (removed when it exits).
func tempDir(_ tag: String) -> URL {
    let u = scratchRoot.appendingPathComponent("arc-\(tag)-\(UUID().uuidString)")
    try! FileManager.default.createDirectory(at: u, withIntermediateDirectories: true)
    return u
}
