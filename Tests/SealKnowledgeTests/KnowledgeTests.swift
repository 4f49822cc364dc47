import Foundation
import XCTest
import SealEngine
import SealKnowledge
import SealTestSupport

/// Paths of the real data beside the repository (`../shared`).
enum Shared {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let root = repo.deletingLastPathComponent().appendingPathComponent("shared")
    static let knowledge = root.appendingPathComponent("data/seal-reference/knowledge-incorporation")
    static let squad = knowledge.appendingPathComponent("data/squad_val.json").path
    static func synthetic(_ rel: String) -> String { knowledge.appendingPathComponent("data/synthetic_data/" + rel).path }
    static let verdicts = knowledge.appendingPathComponent("results/query_server").path
    static let fixtures = repo.appendingPathComponent("Tests/Fixtures/knowledge")

    /// squad_val.json read once per test process (15 MB of JSON).
    nonisolated(unsafe) static var squadCache: [Passage]?
    static func squadPassages() throws -> [Passage] {
        if let c = squadCache { return c }
        let ps = try KnowledgeData.loadSEAL(squad)
        squadCache = ps
        return ps
    }
}

func utf8(_ s: String) -> [UInt8] { Array(s.utf8) }

final class KnowledgeTests: XCTestCase {
    func testLoadsSQuADInSEALSchema() throws {
        let ps = try Shared.squadPassages()
        XCTAssertEqual(ps.count, 2067)
        XCTAssertEqual(ps.reduce(0) { $0 + $1.questions.count }, 10570)
        XCTAssertEqual(ps[0].id, "p0")
        XCTAssertEqual(ps[0].title, "Super Bowl 50")
        XCTAssertEqual(ps[0].questions[0].answers, ["Denver Broncos"])
        // The auto-detecting loader reads the same file the same way.
        XCTAssertEqual(try KnowledgeData.load(Shared.squad).count, 2067)
    }

    func testSelfEditToSequences() throws {
        let edit = "Here are the implications:\n1. A is B.\n2. C is D.\n---\nE is F."
        let seqs = try KnowledgePrompts.sequences(selfEdit: edit, title: "T", context: "ctx", splitLines: true)
        XCTAssertEqual(seqs, ["T\n1. A is B.", "T\n2. C is D.", "T\nE is F.", "T\nctx"])
        let whole = try KnowledgePrompts.sequences(selfEdit: edit, title: "T", context: "ctx", splitLines: false)
        XCTAssertEqual(whole, ["T\nHere are the implications:\n1. A is B.\n2. C is D.", "T\nE is F.", "T\nctx"])
        // An empty self-edit goes through the rule like any other (SEAL's naive arm): the passage alone.
        XCTAssertEqual(try KnowledgePrompts.sequences(selfEdit: " \n ", title: "T", context: "c", splitLines: true), ["T\nc"])
    }

    func write(_ text: String) throws -> String {
        let f = scratchRoot.appendingPathComponent("knowledge-\(UUID().uuidString).json").path
        try text.write(toFile: f, atomically: true, encoding: .utf8)
        return f
    }

    func testBadSQuADFile() throws {
        func fails(_ json: String, _ parts: [String], file: StaticString = #filePath, line: UInt = #line) throws {
            let f = try write(json)
            XCTAssertThrowsError(try KnowledgeData.load(f), file: file, line: line) { e in
                for p in parts + [f] { XCTAssertTrue("\(e)".contains(p), "'\(e)' lacks '\(p)'", file: file, line: line) }
            }
        }
        try fails(#"[{"title": "A", "context": "x", "questions": [{"question": "q?"}]}]"#, ["entry 0 question 0"])
        try fails(#"[{"title": "A", "questions": []}]"#, ["entry 0", "context"])
        try fails(#"[{"title": "A", "context": "x", "questions": []}, {"title": 3, "context": "x", "questions": []}]"#, ["entry 1", "title"])
        try fails(#"[{"title": "A", "context": "x", "questions": [{"question": "q?", "answer": " "}]}]"#, ["empty gold"])
        try fails(#"[{"title": "A", "context": "x", "questions": [{"question": "q?", "answer": 5}]}]"#, ["entry 0 question 0"])
        try fails(#"[{"title": "A", "context": "x", "questions": "none"}]"#, ["entry 0", "questions"])
        try fails(#"{"version": "1.1"}"#, ["expected a JSON list"])
        try fails(#"[1, 2"#, ["not valid JSON"])
        try fails(#"{"data": [{"title": "A", "paragraphs": [{"context": "c", "qas": [{"question": "q", "answers": []}]}]}]}"#,
                  ["data[0].paragraphs[0].qas[0]", "answers"])
        try fails(#"{"data": [{"title": "A", "paragraphs": [{"context": "c", "qas": [{"question": "q", "answers": [{"answer_start": 1}]}]}]}]}"#,
                  ["data[0].paragraphs[0].qas[0].answers[0]", "text"])
        try fails(#"{"data": [{"title": "A", "paragraphs": [{"qas": []}]}]}"#, ["data[0].paragraphs[0]", "context"])
        try fails(#"{"data": [{"paragraphs": []}]}"#, ["data[0]", "title"])
        try fails(#"{"data": [{"title": "A", "paragraphs": [{"context": "c", "qas": [{"question": "q", "answers": [{"text": ""}]}]}]}]}"#,
                  ["data[0].paragraphs[0].qas[0].answers", "empty gold"])
        XCTAssertThrowsError(try KnowledgeData.load("/nonexistent/squad.json")) { XCTAssertTrue("\($0)".contains("/nonexistent/squad.json")) }
        // Wrong types say what was found; blank questions and contexts are errors too.
        try fails(#"[{"title": "A", "context": 7, "questions": []}]"#, ["entry 0", "'context' must be a string", "found 7"])
        try fails(#"[{"title": "A", "context": "   ", "questions": []}]"#, ["entry 0", "empty 'context'"])
        try fails(#"[{"title": "A", "context": "x", "questions": {"q": 1}}]"#, ["entry 0", "'questions' must be a list", "found {"])
        try fails(#"[{"title": "A", "context": "x", "questions": ["why?"]}]"#, ["entry 0 question 0", "must be an object", "found \"why?\""])
        try fails(#"[{"title": "A", "context": "x", "questions": [{"question": " ", "answer": "a"}]}]"#, ["entry 0 question 0", "empty question"])
        try fails(#"[{"title": "A", "context": "x", "questions": [{"question": "q?", "answer": []}]}]"#, ["entry 0 question 0", "'answer'", "found []"])
        try fails(#"[{"title": "A", "context": "x", "questions": [{"question": "q?", "answer": ["a", ""]}]}]"#, ["entry 0 question 0", "empty gold"])
        try fails(#"[{"title": "A", "context": "x", "questions": [{"question": "q?", "answer": "a"}]}, null]"#, ["entry 1 is not an object", "found null"])
        try fails(#"{"data": [{"title": "A", "paragraphs": [{"context": "c", "qas": [{"question": "", "answers": [{"text": "a"}]}]}]}]}"#,
                  ["data[0].paragraphs[0].qas[0]", "empty question"])
        try fails(#"{"data": [{"title": "A", "paragraphs": [{"context": "c", "qas": [{"question": "q", "answers": [{"text": 4}]}]}]}]}"#,
                  ["data[0].paragraphs[0].qas[0].answers[0]", "found {\"text\":4}"])
    }

    /// A self-edit file (SEAL's synthetic-data schema) with missing fields or wrong types: errors name the entry
    /// and the completion.
    func testBadSelfEditFile() throws {
        func fails(_ json: String, _ parts: [String], file: StaticString = #filePath, line: UInt = #line) throws {
            let f = try write(json)
            XCTAssertThrowsError(try SelfEditFile(path: f), file: file, line: line) { e in
                for p in parts + [f] { XCTAssertTrue("\(e)".contains(p), "'\(e)' lacks '\(p)'", file: file, line: line) }
            }
        }
        try fails(#"[{"title": "A", "context": "x", "completions": ["ok", 3]}]"#, ["entry 0 completion 1", "must be a string", "found 3"])
        try fails(#"[{"title": "A", "context": "x", "completion": "ok"}]"#, ["entry 0", "'completions' must be a list", "missing"])
        try fails(#"[{"title": "A", "context": "x", "completions": []}, {"title": "B", "completions": []}]"#, ["entry 1", "'context'", "missing"])
        try fails(#"[{"title": "A", "context": "x", "completions": []}, {"title": "A", "context": "x", "completions": []}]"#, ["entry 1", "appears twice"])
        try fails(#"{"title": "A"}"#, ["expected a JSON list"])
        // Empty completions are data (naive_val.json holds nothing else), not an error.
        XCTAssertEqual(try SelfEditFile(path: try write(#"[{"title": "A", "context": "x", "completions": ["", " "]}]"#)).entries[0].completions, ["", " "])
    }

    /// The official layout: several answers per question kept (repeats removed, first = SEAL's), underscores in
    /// titles become spaces, unanswerable questions (SQuAD 2.0) and paragraphs left without one are skipped.
    func testOfficialLayoutKeepsEveryAnswer() throws {
        let f = try write("""
        {"version": "1.1", "data": [
          {"title": "Super_Bowl_50", "paragraphs": [
            {"context": "Denver beat Carolina.", "qas": [
              {"id": "a", "question": "Who won?", "answers": [{"answer_start": 0, "text": "Denver"}, {"answer_start": 0, "text": "Denver"}, {"answer_start": 0, "text": "Denver Broncos"}]},
              {"id": "b", "question": "Who lost?", "is_impossible": false, "answers": [{"answer_start": 12, "text": "Carolina"}]},
              {"id": "c", "question": "Who sang?", "is_impossible": true, "answers": []}]},
            {"context": "Nothing answerable.", "qas": [{"id": "d", "question": "Why?", "is_impossible": true, "answers": []}]}]},
          {"title": "Fresno,_California", "paragraphs": [
            {"context": "Fresno is a city.", "qas": [{"id": "e", "question": "What is Fresno?", "answers": [{"answer_start": 10, "text": "city"}, {"answer_start": 8, "text": "a city"}]}]}]}]}
        """)
        let ps = try KnowledgeData.load(f)
        XCTAssertEqual(ps.map(\.id), ["p0", "p1"])
        XCTAssertEqual(ps.map(\.title), ["Super Bowl 50", "Fresno, California"])
        XCTAssertEqual(ps[0].questions.map(\.question), ["Who won?", "Who lost?"])
        XCTAssertEqual(ps[0].questions[0].answers, ["Denver", "Denver Broncos"])
        XCTAssertEqual(ps[0].questions[0].answer, "Denver")
        XCTAssertEqual(ps[1].questions[0].answers, ["city", "a city"])
    }

    /// squad_val.json written back in the official layout (articles grouped by title, underscores in titles,
    /// extra answers appended) reads as the same passages with SEAL's answer first.
    func testOfficialLayoutOfRealPassagesEqualsSEALSchema() throws {
        let seal = Array(try Shared.squadPassages().prefix(120))
        var articles: [[String: Any]] = []
        for p in seal {
            let qas: [[String: Any]] = p.questions.map { q in
                ["question": q.question, "answers": [["text": q.answer, "answer_start": 0], ["text": q.answer + " (alt)", "answer_start": 0]]]
            }
            let para: [String: Any] = ["context": p.context, "qas": qas]
            let title = p.title.replacingOccurrences(of: " ", with: "_")
            if let last = articles.last, last["title"] as? String == title {
                articles[articles.count - 1]["paragraphs"] = (last["paragraphs"] as! [[String: Any]]) + [para]
            } else {
                articles.append(["title": title, "paragraphs": [para]])
            }
        }
        XCTAssertGreaterThan(articles.count, 1)
        let data = try JSONSerialization.data(withJSONObject: ["version": "1.1", "data": articles])
        let f = scratchRoot.appendingPathComponent("official-\(UUID().uuidString).json")
        try data.write(to: f)
        let official = try KnowledgeData.loadOfficial(f.path)
        XCTAssertEqual(official.count, seal.count)
        for (a, b) in zip(official, seal) {
            XCTAssertEqual(a.id, b.id)
            XCTAssertEqual(utf8(a.title), utf8(b.title))
            XCTAssertEqual(utf8(a.context), utf8(b.context))
            XCTAssertEqual(a.questions.map(\.question), b.questions.map(\.question))
            XCTAssertEqual(a.questions.map(\.answer), b.questions.map(\.answer))
            XCTAssertEqual(a.questions.map { $0.answers.count }, b.questions.map { _ in 2 })
        }
    }

    /// CPython's MT19937: seeding from an int, getrandbits, random(), randrange and shuffle, against the outputs
    /// of Python itself (scripts/fixtures/make_python_random_fixtures.py).
    func testPythonRandomMatchesCPython() throws {
        let data = try Data(contentsOf: Shared.fixtures.appendingPathComponent("python_random.json"))
        let doc = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        let cases = doc["cases"] as! [[String: Any]]
        XCTAssertGreaterThanOrEqual(cases.count, 8)
        for c in cases {
            let seed = (c["seed"] as! NSNumber).intValue
            var r = PythonRandom(seed: seed)
            XCTAssertEqual((0..<8).map { _ in UInt64(r.nextUInt32()) }, (c["u32"] as! [NSNumber]).map(\.uint64Value), "seed \(seed)")
            r = PythonRandom(seed: seed)
            for pair in c["getrandbits"] as! [[Any]] {
                let k = (pair[0] as! NSNumber).intValue
                XCTAssertEqual(String(r.getrandbits(k)), pair[1] as! String, "seed \(seed) getrandbits(\(k))")
            }
            r = PythonRandom(seed: seed)
            for h in c["random_hex"] as! [String] {
                let x = r.random()
                XCTAssertEqual(x, Double(pythonHex: h), "seed \(seed) random() \(h)")
            }
            r = PythonRandom(seed: seed)
            let below = [1, 2, 7, 1000, 2067, (1 << 31) + 11].map { r.randbelow($0) }
            XCTAssertEqual(below, (c["randbelow"] as! [NSNumber]).map(\.intValue), "seed \(seed)")
            for s in c["shuffles"] as! [[String: Any]] {
                let n = (s["n"] as! NSNumber).intValue
                var xs = Array(0..<n)
                var rr = PythonRandom(seed: seed)
                rr.shuffle(&xs)
                XCTAssertEqual(Array(xs.prefix(200)), (s["head"] as! [NSNumber]).map(\.intValue), "seed \(seed) n \(n)")
                if let full = s["permutation"] as? [NSNumber] { XCTAssertEqual(xs, full.map(\.intValue)) }
            }
        }
    }

    /// SEAL's evaluation set: squad_val shuffled with seed 42, first 200 — the passages of base_val.json, in order
    /// (and of every other evaluation file's first 200).
    func testSeed42SubsetEqualsSEALsEvaluationPassages() throws {
        let subset = KnowledgeData.select(try Shared.squadPassages(), shuffleSeed: 42, count: 200)
        XCTAssertEqual(subset.count, 200)
        XCTAssertEqual(subset.reduce(0) { $0 + $1.questions.count }, 974)
        for file in ["eval/base_val.json", "eval/gpt4_1_val.json", "eval/iter2_val.json", "eval/iter1_val.json"] {
            let ref = try KnowledgeData.loadSEAL(Shared.synthetic(file))
            XCTAssertGreaterThanOrEqual(ref.count, 200)
            for (i, (a, b)) in zip(subset, ref.prefix(200)).enumerated() {
                XCTAssertEqual(utf8(a.title), utf8(b.title), "\(file) passage \(i)")
                XCTAssertEqual(utf8(a.context), utf8(b.context), "\(file) passage \(i)")
                XCTAssertEqual(a.questions, b.questions, "\(file) passage \(i)")
            }
        }
        // Not a tautology: file order differs from the subset.
        XCTAssertNotEqual(subset.map(\.context), Array(try Shared.squadPassages().prefix(200)).map(\.context))
        // iter1_val.json holds 250 passages: the first 250 of the same shuffle.
        let ref250 = try KnowledgeData.loadSEAL(Shared.synthetic("eval/iter1_val.json"))
        XCTAssertEqual(KnowledgeData.select(try Shared.squadPassages(), shuffleSeed: 42, count: 250).map(\.context), ref250.map(\.context))
    }

    /// SEAL's synthetic-data files as self-edits written elsewhere, found by passage whatever the file's order.
    func testSelfEditFileByPassage() throws {
        let f = try SelfEditFile(path: Shared.synthetic("eval/gpt4_1_val.json"))
        XCTAssertEqual(f.entries.count, 200)
        let subset = KnowledgeData.select(try Shared.squadPassages(), shuffleSeed: 42, count: 200)
        for p in subset.reversed() {
            let cs = try f.completions(for: p)
            XCTAssertEqual(cs.count, 5)
            XCTAssertFalse(cs[0].isEmpty)
        }
        XCTAssertEqual(try f.completions(for: subset[7]), f.entries[7].completions)
        let outside = try Shared.squadPassages()[0]
        XCTAssertFalse(subset.contains { $0.context == outside.context })
        XCTAssertThrowsError(try f.completions(for: outside)) { e in
            XCTAssertTrue("\(e)".contains("gpt4_1_val.json") && "\(e)".contains("p0"), "\(e)")
        }
        let train = try SelfEditFile(path: Shared.synthetic("train/iter0_train.json"))
        XCTAssertEqual(train.entries.count, 100)
        XCTAssertEqual(train.entries[0].completions.count, 10)
        let bad = try write(#"[{"title": "A", "context": "x", "completions": [1]}]"#)
        XCTAssertThrowsError(try SelfEditFile(path: bad)) { XCTAssertTrue("\($0)".contains("entry 0") && "\($0)".contains("completion 0")) }
    }

    /// The domain selects SEAL's evaluation set from config keys, and gives each passage its file index as id.
    func testDomainSelectsSubsetFromConfig() throws {
        let schema = EngineConfig.schema + KnowledgeDomain.schema
        let cfg = try ResolvedConfig.resolve(schema: schema, file: nil, overrides: [
            "knowledge.eval_file=\"\(Shared.squad)\"", "knowledge.eval_shuffle_seed=42", "knowledge.eval_count=200",
            "knowledge.self_edits_file=\"\(Shared.synthetic("eval/gpt4_1_val.json"))\"",
        ])
        let d = try KnowledgeDomain(config: cfg)
        let ps = d.passages(split: "eval")
        let ref = try KnowledgeData.loadSEAL(Shared.synthetic("eval/base_val.json"))
        XCTAssertEqual(ps.map(\.context), ref.map(\.context))
        let all = try Shared.squadPassages()
        XCTAssertEqual(ps[0].id, "eval/" + all.first { $0.context == ps[0].context }!.id)
        XCTAssertEqual(try d.externalSelfEdits(contextID: ps[3].id)?.count, 5)
        XCTAssertEqual(try d.contexts(split: "eval").count, 200)
        XCTAssertThrowsError(try KnowledgeDomain(config: try ResolvedConfig.resolve(schema: schema, file: nil, overrides: [
            "knowledge.eval_file=\"\(Shared.squad)\"", "knowledge.eval_shuffle_seed=-3",
        ]))) { XCTAssertTrue("\($0)".contains("knowledge.eval_shuffle_seed")) }
    }
}

extension Double {
    /// Parses Python's `float.hex()` output ("0x1.8p-1", "0x0.0p+0").
    init?(pythonHex s: String) {
        var t = Substring(s)
        var sign = 1.0
        if t.hasPrefix("-") { sign = -1; t = t.dropFirst() }
        guard t.hasPrefix("0x"), let p = t.firstIndex(of: "p") else { return nil }
        let mant = t[t.index(t.startIndex, offsetBy: 2)..<p]
        guard let exp = Int(t[t.index(after: p)...]) else { return nil }
        let parts = mant.split(separator: ".", omittingEmptySubsequences: false)
        guard let ip = UInt64(parts[0], radix: 16) else { return nil }
        var v = Double(ip)
        if parts.count > 1 {
            var scale = 1.0 / 16
            for ch in parts[1] { guard let d = ch.hexDigitValue else { return nil }; v += Double(d) * scale; scale /= 16 }
        }
        self = sign * v * pow(2.0, Double(exp))
    }
}
