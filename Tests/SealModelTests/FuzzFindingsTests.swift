import Foundation
import XCTest
import SealModel

/// The inputs the libFuzzer harnesses (fuzz/, `make fuzz`) found trapping, hanging or allocating gigabytes
/// (Tests/Fixtures/fuzz/README.md), replayed through the same entry points: each must now be a thrown error, fast,
/// with no large allocation. Every file in the folders is replayed, so a new finding committed there is tested too.
final class FuzzFindingsTests: XCTestCase {
    func findings(_ harness: String) throws -> [URL] {
        let dir = Repo.fixture("fuzz/\(harness)")
        let files = try FileManager.default.contentsOfDirectory(at: dir, includingPropertiesForKeys: nil)
            .filter { $0.lastPathComponent != "README.md" }.sorted { $0.path < $1.path }
        XCTAssertFalse(files.isEmpty, "no findings under \(dir.path)")
        return files
    }

    /// model-config: ModelConfig.parse, then the layout and RoPE tables derived before any weight is read.
    func testModelConfigFindingsAreErrors() throws {
        for f in try findings("model-config") {
            let start = Date()
            XCTAssertThrowsError(try {
                let c = try ModelConfig.parse(data: Data(contentsOf: f), path: f.path)
                _ = ParameterLayout(config: c).count
                _ = c.ropeInverseFrequencies()
            }(), f.lastPathComponent)
            XCTAssertLessThan(Date().timeIntervalSince(start), 2, f.lastPathComponent)
        }
    }

    /// model-load: the finding as config.json beside TinyStories-656K's weights must fail before the buffer is
    /// allocated (the process's resident memory grows by well under the gigabytes it asked for).
    func testModelLoadFindingsFailBeforeAllocating() throws {
        let weights = Repo.sharedModel("tinystories-656k").appendingPathComponent("model.safetensors")
        for f in try findings("model-load") {
            let dir = temporaryDirectory("fuzz-load")
            try FileManager.default.createSymbolicLink(at: dir.appendingPathComponent("model.safetensors"), withDestinationURL: weights)
            try FileManager.default.copyItem(at: f, to: dir.appendingPathComponent("config.json"))
            let before = residentBytes()
            let start = Date()
            XCTAssertThrowsError(try TransformerModel.load(directory: dir), f.lastPathComponent)
            XCTAssertLessThan(Date().timeIntervalSince(start), 5, f.lastPathComponent)
            XCTAssertLessThan(residentBytes() - before, 300 << 20, f.lastPathComponent)
        }
    }

    func residentBytes() -> Int {
        guard let s = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let parts = s.split(separator: " ")
        return parts.count > 1 ? (Int(parts[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE))) : 0
    }
}
