import Foundation
import SealCore
import XCTest
import SealARC

/// Augmentations against numpy (Tests/Fixtures/arc/arc.json, written by scripts/fixtures/arc.py from real ARC
/// tasks), their inverses, and the 30 × 30 limit.
final class AugmentTests: XCTestCase {
    var tasks: [[String: Any]] { ARCTestData.oracle["tasks"] as! [[String: Any]] }

    func testSplitMix64MatchesReference() {
        // Vigna's splitmix64.c, seed 0: the first output (also checked by the Python oracle).
        var r = SplitMix64(seed: 0)
        XCTAssertEqual(r.next(), 0xE220_A839_7B1D_CDAF)
        XCTAssertEqual((ARCTestData.oracle["splitmix64_seed0_first"] as! [String]).first, String(0xE220_A839_7B1D_CDAF as UInt64))
        var p = SplitMix64(seed: 5)
        XCTAssertEqual(Set(p.permutation(9)), Set(0..<9))
    }

    /// Every fixed augmentation equals numpy's on every fixture task, including which tasks are dropped for
    /// exceeding 30 × 30; the fixture covers every name.
    func testFixedAugmentationsEqualNumpy() throws {
        var names = Set<String>()
        for entry in tasks {
            let id = entry["id"] as! String
            let task = fixtureTask(entry["task"]!, id: id)
            // The fixture's source task is the real one (first two demonstrations).
            let real = ARCTestData.task(id)
            XCTAssertEqual(task.train, Array(real.train.prefix(2)), id)
            XCTAssertEqual(task.test, real.test, id)
            for (name, expected) in entry["fixed"] as! [String: Any] {
                names.insert(name)
                let a = try XCTUnwrap(Augmentation.named(name), name)
                let got = a.apply(to: task)
                if expected is NSNull {
                    XCTAssertNil(got, "\(id) \(name): numpy gives a grid over 30x30, seal kept the task")
                } else {
                    XCTAssertEqual(got, fixtureTask(expected, id: id), "\(id) \(name)")
                }
            }
        }
        XCTAssertEqual(names.union(["translate", "permute_colors"]), Set(Augmentation.names))
        // The fixture includes drops (a 14x16 task cannot double in size) and keeps.
        let big = tasks.first { ($0["id"] as! String) == "4be741c5" }!["fixed"] as! [String: Any]
        XCTAssertTrue(big["increase_resolution_2"] is NSNull)
        XCTAssertFalse(big["increase_height_2"] is NSNull)
    }

    /// translate, permute_colors and shuffle_examples: seal's seed → parameter mapping equals the oracle's, and
    /// numpy's np.roll / table lookup / reordering give the same tasks.
    func testSeededAugmentationsEqualNumpy() throws {
        var checked = 0
        for entry in tasks {
            let id = entry["id"] as! String
            let task = fixtureTask(entry["task"]!, id: id)
            for s in entry["seeded"] as! [[String: Any]] {
                let name = s["name"] as! String
                let seed = UInt64(s["seed"] as! String)!
                let params = s["params"] as! [String: Any]
                let expected = fixtureTask(s["result"]!, id: id)
                switch name {
                case "translate":
                    XCTAssertEqual(Augmentation.named(name, seed: seed), .translate(rows: params["rows"] as! Int, cols: params["cols"] as! Int))
                    XCTAssertEqual(Augmentation.named(name, seed: seed)!.apply(to: task), expected, "\(id) translate seed \(seed)")
                case "permute_colors":
                    XCTAssertEqual(Augmentation.named(name, seed: seed), .colours((params["map"] as! [Int]).map(UInt8.init)))
                    XCTAssertEqual(Augmentation.named(name, seed: seed)!.apply(to: task), expected, "\(id) colours seed \(seed)")
                default:
                    XCTAssertEqual(shuffleExamples(task, seed: seed), expected, "\(id) shuffle seed \(seed)")
                }
                checked += 1
            }
        }
        XCTAssertEqual(checked, 4 * 3 * 3)
    }

    /// Every augmentation's inverse undoes it on every grid of 60 real tasks (and for seeded ones, several seeds);
    /// a grid that is not an image of a size-changing augmentation has no inverse.
    func testEveryAugmentationRoundTrips() {
        var augs: [Augmentation] = Augmentation.names.filter { $0 != "translate" && $0 != "permute_colors" }.map { Augmentation.named($0)! }
        for seed: UInt64 in [0, 1, 2, 3, 99, .max] {
            augs.append(Augmentation.named("translate", seed: seed)!)
            augs.append(Augmentation.named("permute_colors", seed: seed)!)
        }
        augs.append(.translate(rows: 7, cols: -5))
        augs.append(.chain([.reflect(axis: 1, reverse: true), .rotate(3), .tile(axis: 2, n: 2)]))
        var grids = Set<Grid>()
        for t in ARCTestData.training.prefix(60) { grids.formUnion(t.grids) }
        var count = 0
        for a in augs {
            for g in grids {
                XCTAssertEqual(a.invert(a.apply(g)), g, "\(a.name) on a \(g.rows)x\(g.cols) grid")
                count += 1
            }
        }
        XCTAssertGreaterThan(count, 10_000)
        // Not images: an odd height cannot be a doubled one; a 2x2 grid of four colours is no 2x2 block.
        let odd = Grid([[1, 2], [3, 4], [5, 6]])!
        XCTAssertNil(Augmentation.increaseResolution(2).invert(odd))
        XCTAssertNil(Augmentation.increaseHeight(2).invert(odd))
        XCTAssertNil(Augmentation.reflect(axis: 0, reverse: false).invert(odd))
        XCTAssertNil(Augmentation.increaseResolution(2).invert(Grid([[1, 2], [3, 4]])!))
        XCTAssertNil(Augmentation.tile(axis: 1, n: 2).invert(Grid([[1, 2], [3, 4]])!))
        XCTAssertNil(Augmentation.reflect(axis: 1, reverse: false).invert(Grid([[1, 2]])!))
        XCTAssertEqual(Augmentation.reflect(axis: 1, reverse: false).invert(Grid([[1, 1]])!), Grid([[1]])!)
    }

    /// apply(to:) drops exactly the tasks with a result grid over 30 in either dimension, over all 400 training
    /// tasks and every size-changing augmentation; kept results are within the limit.
    func testSizeLimitOnEveryTrainingTask() {
        let sizeChanging = ["reflect_0_false", "reflect_1_true", "increase_resolution_2", "increase_height_2", "increase_width_2",
                            "chain_transpose", "repeat_0_2", "repeat_1_2", "repeat_2_2"].map { Augmentation.named($0)! }
        var dropped = 0, kept = 0
        for t in ARCTestData.training {
            for a in sizeChanging {
                let shapes = t.grids.map { a.apply($0) }
                let over = shapes.contains { $0.rows > 30 || $0.cols > 30 }
                let r = a.apply(to: t)
                XCTAssertEqual(r == nil, over, "\(t.id) \(a.name)")
                if let r { XCTAssertTrue(r.grids.allSatisfy { $0.rows <= 30 && $0.cols <= 30 }); kept += 1 } else { dropped += 1 }
            }
        }
        XCTAssertGreaterThan(dropped, 100)
        XCTAssertGreaterThan(kept, 1000)
    }

    func testNamesParse() {
        XCTAssertEqual(Augmentation.named("rotate_90"), .rotate(1))
        XCTAssertEqual(Augmentation.named("reflect_1_1"), .reflect(axis: 1, reverse: true))
        XCTAssertEqual(Augmentation.named("chain_flip_1"), .chain([.flip(1), .increaseResolution(2)]))
        XCTAssertNil(Augmentation.named("chain_translate"))
        XCTAssertNil(Augmentation.named("rotate_45"))
        XCTAssertNil(Augmentation.named("reflect_2_true"))
        for n in Augmentation.names where n != "translate" && n != "permute_colors" {
            XCTAssertEqual(Augmentation.named(Augmentation.named(n)!.name), Augmentation.named(n), n)
        }
    }
}
