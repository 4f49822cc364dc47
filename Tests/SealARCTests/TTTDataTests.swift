import Foundation
import SealCore
import XCTest
import SealARC

/// The TTT data pipeline against the Python restatement in scripts/fixtures/arc.py (numpy transforms, the same
/// SplitMix64 draws), and its rules: leave-n counts, de-duplication, 30 × 30, the cap, determinism.
final class TTTDataTests: XCTestCase {
    func exampleText(_ e: TTTExample) -> String {
        e.demos.map { fixtureText($0.input) + ">" + fixtureText($0.output) }.joined(separator: ";") + "|"
            + fixtureText(e.query.input) + ">" + fixtureText(e.query.output)
    }

    func fnv(_ s: String) -> String { String(format: "%016llx", fnv1a64(s.utf8)) }

    func testPoolsEqualOracle() {
        let pools = ARCTestData.oracle["pools"] as! [[String: Any]]
        XCTAssertEqual(pools.count, 8)
        for p in pools {
            let id = p["id"] as! String, n = p["n"] as! Int
            let sw = p["switches"] as! [Bool]
            let switches = AugmentationSwitches(basic: sw[0], size: sw[1], chain: sw[2], repeat: sw[3])
            let task = ARCTestData.task(id)
            let label = "\(id) n=\(n) \(sw)"
            XCTAssertEqual(TTTDataBuilder.leaveOut(task.train, n: n).count, p["initial"] as! Int, label)
            let got = TTTDataBuilder(switches: switches, seed: UInt64(p["seed"] as! Int)).pool(task, n: n)
            let texts = got.map(exampleText)
            let hashes = p["hashes"] as! [String]
            XCTAssertEqual(got.count, p["count"] as! Int, label)
            XCTAssertEqual(Array(texts.prefix(4)), p["first"] as! [String], label)
            if let k = zip(texts.map(fnv), hashes).enumerated().first(where: { $0.element.0 != $0.element.1 })?.offset {
                XCTFail("\(label): example \(k) differs from the oracle's: \(texts[k])")
            }
            XCTAssertEqual(fnv(texts.joined(separator: "\n")), p["hash_all"] as! String, label)
        }
    }

    func testLeaveOutCounts() {
        let t = ARCTestData.task("6e02f1e3")  // 5 demonstrations
        let one = TTTDataBuilder.leaveOut(t.train, n: 1)
        let two = TTTDataBuilder.leaveOut(t.train, n: 2)
        XCTAssertEqual(one.count, 5)
        XCTAssertEqual(two.count, 5 * 4)
        XCTAssertTrue(one.allSatisfy { $0.demos.count == 4 && !$0.demos.contains($0.query) })
        XCTAssertTrue(two.allSatisfy { $0.demos.count == 3 && !$0.demos.contains($0.query) })
        // Demonstrations keep their original order.
        XCTAssertEqual(one[0].demos, Array(t.train[1...]))
        XCTAssertEqual(TTTDataBuilder.combinations([0, 1, 2, 3], 2), [[0, 1], [0, 2], [0, 3], [1, 2], [1, 3], [2, 3]])
    }

    func testCapFilterDeterminismAndLimits() {
        let t = ARCTestData.task("6e02f1e3")
        let b = TTTDataBuilder(switches: .all, seed: 11)
        let full = b.pool(t, n: 1) + b.pool(t, n: 2)
        XCTAssertGreaterThan(full.count, 250)
        XCTAssertEqual(Set(full).count, full.count, "pools are de-duplicated")
        let capped = b.examples(t)
        XCTAssertEqual(capped.count, 250)
        XCTAssertEqual(Set(capped).count, 250)
        XCTAssertTrue(Set(capped).isSubset(of: Set(full)))
        XCTAssertEqual(b.examples(t), capped, "same seed, same data")
        XCTAssertNotEqual(TTTDataBuilder(switches: .all, seed: 12).examples(t), capped)
        for e in full { XCTAssertTrue(e.grids.allSatisfy(\.fitsARC)) }
        // The filter applies before the cap.
        let small = b.examples(t) { $0.demos.count == 4 }
        XCTAssertTrue(small.allSatisfy { $0.demos.count == 4 })
        XCTAssertEqual(small.count, min(250, full.filter { $0.demos.count == 4 }.count))
        // No augmenter: the leave-out tasks and their demonstration shuffles only, colours untouched.
        let plain = TTTDataBuilder(switches: .none, seed: 3).examples(t)
        let colours = Set(t.grids.flatMap(\.cells))
        XCTAssertTrue(plain.allSatisfy { Set($0.grids.flatMap(\.cells)).isSubset(of: colours) })
        XCTAssertTrue(plain.allSatisfy { e in t.train.contains(e.query) })
        XCTAssertLessThanOrEqual(plain.count, 2 * (5 + 20))
    }
}
