import Foundation
import XCTest
import SealTestSupport

/// `seal grade` and `seal knowledge grade` as a user runs them.
final class GradeCLITests: XCTestCase {
    let cli = CLIHarness()
    static let verdicts = CLIHarness.shared.appendingPathComponent("data/seal-reference/knowledge-incorporation/results/query_server").path

    func testGradeJSONLines() throws {
        let dir = cli.tmp("grade")
        let input = dir.appendingPathComponent("in.jsonl")
        try """
        {"question": "Which NFL team represented the AFC at Super Bowl 50?", "gold": "Denver Broncos", "prediction": "The Denver Broncos."}

        {"question": "Who won?", "gold": ["Denver", "the Broncos"], "prediction": "The Broncos won."}
        {"question": "In what year?", "gold": "1847", "prediction": "It was 1849."}
        """.write(to: input, atomically: true, encoding: .utf8)
        let r = try cli.seal(["grade", "--input", input.path])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertEqual(r.out, "{\"correct\":true}\n{\"correct\":true}\n{\"correct\":false}\n")
        let j = try cli.seal(["grade", "--input", input.path, "--json"])
        XCTAssertEqual(j.status, 0, j.err)
        let lines = j.out.split(separator: "\n").map { try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        XCTAssertEqual(lines.count, 3)
        XCTAssertNotNil(lines[0]["score"] as? Double)
        XCTAssertEqual(lines[2]["parsed"] as? Bool, true)
        let c = try cli.seal(["grade", "--input", input.path, "--grader", "contains"])
        XCTAssertEqual(c.out, "{\"correct\":true}\n{\"correct\":true}\n{\"correct\":false}\n")
    }

    func testGradeBadInput() throws {
        let dir = cli.tmp("grade-bad")
        func fails(_ text: String, _ needles: [String], args: [String] = [], line: UInt = #line) throws {
            let f = dir.appendingPathComponent("bad-\(UUID().uuidString).jsonl")
            try text.write(to: f, atomically: true, encoding: .utf8)
            let r = try cli.seal(["grade", "--input", f.path] + args)
            XCTAssertEqual(r.status, 1, line: line)
            XCTAssertFalse(r.crashed, line: line)
            for n in needles { XCTAssertTrue(r.err.contains(n), "'\(r.err)' lacks '\(n)'", line: line) }
        }
        try fails("{\"question\": \"q\", \"gold\": \"a\", \"prediction\": \"a\"}\n{\"question\": \"q\", \"gold\": \"a\"}\n", [".jsonl:2", "prediction"])
        try fails("{\"question\": \"q\", \"gold\": \"  \", \"prediction\": \"a\"}\n", [".jsonl:1", "empty gold"])
        try fails("{\"question\": \"q\", \"gold\": 5, \"prediction\": \"a\"}\n", [".jsonl:1", "gold"])
        try fails("not json\n", [".jsonl:1", "not a JSON object"])
        try fails("{\"question\": \"q\", \"gold\": \"a\", \"prediction\": \"a\"}\n", ["grader.kind", "'magic'"], args: ["--grader", "magic"])
        let r = try cli.seal(["grade", "--input", "/nonexistent/in.jsonl"])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.err.contains("/nonexistent/in.jsonl"))
    }

    /// `seal knowledge grade` re-measures a grader against SEAL's GPT-4.1 verdicts.
    func testKnowledgeGradeAgainstVerdicts() throws {
        let file = Self.verdicts + "/eval/base.json"
        let r = try cli.seal(["knowledge", "grade", "--verdicts", file, "--json"])
        XCTAssertEqual(r.status, 0, r.err)
        let o = try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as! [String: Any]
        XCTAssertEqual(o["rows"] as? Int, 1948)
        let all = o["all"] as! [String: Any]
        let held = o["held_out"] as! [String: Any], cal = o["calibration"] as! [String: Any]
        XCTAssertEqual((held["count"] as! Int) + (cal["count"] as! Int), all["count"] as! Int)
        XCTAssertGreaterThan(all["agreement"] as! Double, 0.85)
        XCTAssertLessThan(abs(all["bias"] as! Double), 0.04)
        let per = o["per_source"] as! [String: [String: [String: Any]]]
        XCTAssertEqual(per["base.json"]?["all"]?["count"] as? Int, 1948)
        XCTAssertEqual(per["base.json [adapter]"]?["all"]?["count"] as? Int, 974)
        // --dump: one line per distinct answer, with its fold and the local grader's verdict.
        let dump = NSTemporaryDirectory() + "grade-dump-\(UUID().uuidString).jsonl"
        defer { try? FileManager.default.removeItem(atPath: dump) }
        XCTAssertEqual(try cli.seal(["knowledge", "grade", "--verdicts", file, "--dump", dump]).status, 0)
        let lines = try String(contentsOfFile: dump, encoding: .utf8).split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
        XCTAssertEqual(lines.count, all["count"] as! Int)
        XCTAssertEqual(lines.filter { $0["fold"] as? Int == 0 }.count, held["count"] as! Int)
        let agree = lines.filter { ($0["grader"] as! Bool) == ($0["correct"] as! Bool) }.count
        XCTAssertEqual(Double(agree) / Double(lines.count), all["agreement"] as! Double, accuracy: 1e-12)
        XCTAssertEqual((lines[0]["features"] as? [Double])?.count, 10)
        let text = try cli.seal(["knowledge", "grade", "--verdicts", file])
        XCTAssertEqual(text.status, 0, text.err)
        XCTAssertTrue(text.out.contains("held-out (distinct answers)") && text.out.contains("bias"), text.out)
        let bad = try cli.seal(["knowledge", "grade", "--verdicts", "/nonexistent/verdicts"])
        XCTAssertEqual(bad.status, 1)
        XCTAssertTrue(bad.err.contains("/nonexistent/verdicts"))
    }

    /// Issue 14: CRLF input grades as LF input; errors name the physical line after blank lines; invalid UTF-8 is
    /// an error naming the line.
    func testGradeCRLFLineNumbersAndUTF8() throws {
        let dir = cli.tmp("grade-crlf")
        let rows = [#"{"question": "Who won?", "gold": "Denver", "prediction": "Denver won."}"#, "",
                    #"{"question": "In what year?", "gold": "1847", "prediction": "It was 1849."}"#]
        var outs: [String] = []
        for sep in ["\n", "\r\n"] {
            let f = dir.appendingPathComponent("in\(sep.count).jsonl")
            try Data((rows.joined(separator: sep) + sep).utf8).write(to: f)
            let r = try cli.seal(["grade", "--input", f.path])
            XCTAssertEqual(r.status, 0, r.err)
            outs.append(r.out)
            let bad = dir.appendingPathComponent("bad\(sep.count).jsonl")
            try Data((rows.joined(separator: sep) + sep + sep + sep + "{oops" + sep).utf8).write(to: bad)
            let b = try cli.seal(["grade", "--input", bad.path])
            XCTAssertEqual(b.status, 1); XCTAssertFalse(b.crashed)
            XCTAssertTrue(b.err.contains("bad\(sep.count).jsonl:6"), b.err)
        }
        XCTAssertEqual(outs[0], "{\"correct\":true}\n{\"correct\":false}\n")
        XCTAssertEqual(outs[0], outs[1])
        let u = dir.appendingPathComponent("utf8.jsonl")
        try Data(Array((rows[0] + "\n\n").utf8) + Array(#"{"question": "q", "gold": "g", "prediction": "x"#.utf8) + [0xC3, 0x28] + Array("\"}\n".utf8)).write(to: u)
        let r = try cli.seal(["grade", "--input", u.path])
        XCTAssertEqual(r.status, 1); XCTAssertFalse(r.crashed)
        XCTAssertTrue(r.err.contains("utf8.jsonl:3") && r.err.contains("UTF-8"), r.err)
    }
}
