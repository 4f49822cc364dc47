import Foundation
import XCTest
import SealARC

/// Both task layouts, SEAL's named subsets, and errors that name the file, the task and the key.
final class TasksTests: XCTestCase {
    func testKaggleLayoutWithSolutions() throws {
        let tr = ARCTestData.training
        XCTAssertEqual(tr.count, 400)
        XCTAssertTrue(tr.allSatisfy(\.hasSolutions))
        // Compared with Foundation's parser on the raw files.
        let raw = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: ARCTestData.arc("arc-agi_training_challenges.json")))) as! [String: [String: Any]]
        let sol = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: ARCTestData.arc("arc-agi_training_solutions.json")))) as! [String: [[[Int]]]]
        XCTAssertEqual(Set(tr.map(\.id)), Set(raw.keys))
        for t in tr {
            let r = raw[t.id]!
            XCTAssertEqual(t.train.map(\.input.array), (r["train"] as! [[String: Any]]).map { $0["input"] as! [[Int]] })
            XCTAssertEqual(t.train.map(\.output.array), (r["train"] as! [[String: Any]]).map { $0["output"] as! [[Int]] })
            XCTAssertEqual(t.test.map(\.input.array), (r["test"] as! [[String: Any]]).map { $0["input"] as! [[Int]] })
            XCTAssertEqual(t.test.map { $0.output!.array }, sol[t.id]!)
        }
        // Without solutions, test outputs are unknown.
        let bare = try ARCData.load(ARCTestData.arc("arc-agi_evaluation_challenges.json"))
        XCTAssertEqual(bare.count, 400)
        XCTAssertTrue(bare.allSatisfy { $0.test.allSatisfy { $0.output == nil } })
    }

    func testSEALSubsets() throws {
        let filtered = try ARCData.load(ARCTestData.arc("arc-agi_training_challenges_filtered_1B_training_set.json"))
        XCTAssertEqual(ARCSets.sealTrain, filtered.map(\.id).filter { $0 != "8e1813be" })
        XCTAssertEqual(ARCSets.sealTrain.count, 11)
        let evalFiltered = Set(try ARCData.load(ARCTestData.arc("arc-agi_evaluation_challenges_filtered_1B_eval_set.json")).map(\.id))
        XCTAssertEqual(ARCSets.sealEval.count, 8)
        XCTAssertTrue(Set(ARCSets.sealEval).isSubset(of: evalFiltered))
        // The subset files hold the same tasks as the full files.
        let sub = try ARCSets.select(["seal-train"], from: ARCTestData.training, source: "test")
        XCTAssertEqual(sub.map(\.id), ARCSets.sealTrain)
        XCTAssertEqual(sub, filtered.filter { $0.id != "8e1813be" }.map { f in ARCTestData.task(f.id) })
        XCTAssertEqual(try ARCSets.select(["seal-eval", "59341089"], from: ARCTestData.evaluation, source: "test").count, 8)
        XCTAssertThrowsError(try ARCSets.select(["nope"], from: ARCTestData.training, source: "arc.train_tasks")) {
            XCTAssertTrue("\($0)".contains("no task nope"), "\($0)")
        }
    }

    func testPerTaskFileAndFolder() throws {
        let dir = tempDir("tasks")
        let t = ARCTestData.task("6150a2bd")
        for id in ["6150a2bd", "8d5021e8"] {
            let data = try JSONSerialization.data(withJSONObject: ARCTestData.task(id).jsonObject)
            try data.write(to: dir.appendingPathComponent("\(id).json"))
        }
        let one = try ARCData.load(dir.appendingPathComponent("6150a2bd.json").path)
        XCTAssertEqual(one, [t])
        let folder = try ARCData.load(dir.path)
        XCTAssertEqual(folder.map(\.id), ["6150a2bd", "8d5021e8"])
        XCTAssertEqual(folder[1], ARCTestData.task("8d5021e8"))
    }

    /// Every kind of bad input is an error naming the file, the task and where in it.
    func testBadInputErrors() throws {
        let dir = tempDir("bad")
        let good = #"{"train": [{"input": [[1, 2], [3, 4]], "output": [[1]]}], "test": [{"input": [[0]]}]}"#
        let rows31 = "[" + Array(repeating: "[1]", count: 31).joined(separator: ",") + "]"
        let cases: [(String, String, [String])] = [
            ("ragged", #"{"train": [{"input": [[1, 2], [3]], "output": [[1]]}], "test": [{"input": [[0]]}]}"#, ["task ragged", "train[0].input", "row 1 has 1 cells, row 0 has 2"]),
            ("colour", #"{"train": [{"input": [[1, 10]], "output": [[1]]}], "test": [{"input": [[0]]}]}"#, ["task colour", "train[0].input", "colour 10 is outside 0–9"]),
            ("negative", #"{"train": [{"input": [[1]], "output": [[-1]]}], "test": [{"input": [[0]]}]}"#, ["train[0].output", "colour -1"]),
            ("float", #"{"train": [{"input": [[1.5]], "output": [[1]]}], "test": [{"input": [[0]]}]}"#, ["train[0].input", "integer 0–9, found a number 1.5"]),
            ("bool", #"{"train": [{"input": [[true]], "output": [[1]]}], "test": [{"input": [[0]]}]}"#, ["integer 0–9, found true"]),
            ("notrain", #"{"test": [{"input": [[0]]}]}"#, ["task notrain", "missing key \"train\""]),
            ("noinput", #"{"train": [{"input": [[1]], "output": [[1]]}], "test": [{"output": [[0]]}]}"#, ["test[0]", "missing key \"input\""]),
            ("nooutput", #"{"train": [{"input": [[1]]}], "test": [{"input": [[0]]}]}"#, ["train[0]", "missing key \"output\""]),
            ("big", #"{"train": [{"input": "# + rows31 + #", "output": [[1]]}], "test": [{"input": [[0]]}]}"#, ["train[0].input", "31 rows", "at most 30"]),
            ("empty", #"{"train": [{"input": [], "output": [[1]]}], "test": [{"input": [[0]]}]}"#, ["train[0].input", "no rows"]),
            ("emptyrow", #"{"train": [{"input": [[]], "output": [[1]]}], "test": [{"input": [[0]]}]}"#, ["row 0 is empty"]),
            ("syntax", #"{"train": [}"#, ["not valid JSON", "line 1"]),
        ]
        for (name, text, needles) in cases {
            let path = dir.appendingPathComponent("\(name).json").path
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            XCTAssertThrowsError(try ARCData.load(path), name) { e in
                let m = "\(e)"
                XCTAssertTrue(m.contains(path), "\(name): \(m)")
                for n in needles { XCTAssertTrue(m.contains(n), "\(name): '\(n)' not in: \(m)") }
            }
        }
        // Kaggle layout: the task id is named; solutions must match the test inputs.
        let kaggle = dir.appendingPathComponent("challenges.json").path
        try "{\"aaa\": \(good), \"bbb\": {\"train\": [{\"input\": [[1, 2], [3]], \"output\": [[1]]}], \"test\": [{\"input\": [[0]]}]}}"
            .write(toFile: kaggle, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ARCData.load(kaggle)) { XCTAssertTrue("\($0)".contains("task bbb: train[0].input"), "\($0)") }
        try "{\"aaa\": \(good)}".write(toFile: kaggle, atomically: true, encoding: .utf8)
        let sol = dir.appendingPathComponent("solutions.json").path
        try #"{"aaa": [[[1]], [[2]]]}"#.write(toFile: sol, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ARCData.load(kaggle, solutions: sol)) { XCTAssertTrue("\($0)".contains("task aaa: 2 solution grids for 1 test inputs"), "\($0)") }
        try #"{"zzz": [[[1]]]}"#.write(toFile: sol, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ARCData.load(kaggle, solutions: sol)) { XCTAssertTrue("\($0)".contains("task zzz has a solution but is not among"), "\($0)") }
        try #"{"aaa": [[[1, 2], [3]]]}"#.write(toFile: sol, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ARCData.load(kaggle, solutions: sol)) { XCTAssertTrue("\($0)".contains("\(sol): task aaa: solution 0"), "\($0)") }
        try #"{"aaa": [[[7]]]}"#.write(toFile: sol, atomically: true, encoding: .utf8)
        XCTAssertEqual(try ARCData.load(kaggle, solutions: sol)[0].test[0].output, Grid([[7]]))
        XCTAssertThrowsError(try ARCData.load(dir.appendingPathComponent("missing.json").path)) { XCTAssertTrue("\($0)".contains("missing.json: no such file")) }
    }
}
