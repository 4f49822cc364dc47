import Foundation
import XCTest
import SealEngine
import SealKnowledge

/// Job files the config harness (fuzz/Sources/config, `make fuzz`) found trapping, replayed as the commands resolve
/// them: each must now be a thrown error naming the key. Every file in Tests/Fixtures/fuzz/config is replayed.
final class FuzzFindingsTests: XCTestCase {
    func testConfigFindingsAreNamedErrors() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let dir = root.appendingPathComponent("Tests/Fixtures/fuzz/config")
        let files = try FileManager.default.contentsOfDirectory(at: dir, includingPropertiesForKeys: nil).filter { $0.pathExtension == "toml" }
        XCTAssertFalse(files.isEmpty)
        for f in files {
            XCTAssertThrowsError(try ResolvedConfig.resolve(schema: EngineConfig.schema + KnowledgeDomain.schema, file: f.path, overrides: []),
                                 f.lastPathComponent) { e in
                XCTAssertTrue("\(e)".contains("inner.lr") || "\(e)".contains("key"), "\(f.lastPathComponent): \(e)")
            }
        }
    }
}
