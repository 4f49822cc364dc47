import Foundation
import XCTest
import SealKnowledge
import SealTestSupport

/// SEAL's GPT-4.1 verdicts (results/query_server), read and featurised once per test process.
enum Calibration {
    nonisolated(unsafe) static var cache: (records: [VerdictRecord], distinct: [VerdictRecord])?
    static func load() throws -> (records: [VerdictRecord], distinct: [VerdictRecord]) {
        if let c = cache { return c }
        let records = try Verdicts.load(Shared.verdicts)
        let c = (records, Verdicts.unique(records))
        cache = c
        return c
    }
}

final class LocalGraderTests: XCTestCase {
    func testNormalisation() {
        let cases: [(String, String)] = [
            ("The Denver Broncos!", "denver broncos"),
            ("1,000 people", "1000 people"),
            ("3.5% of it", "3.5 % of it"),
            ("50 percent", "50 %"),
            ("the U.S. Army", "us army"),
            ("Luther's theses", "luther theses"),
            ("don't", "dont"),
            ("Genève, Zürich", "geneve zurich"),
            ("twenty-five years", "25 years"),
            ("the first word", "1 word"),
            ("1st and 19th", "1 and 19"),
            ("the 1960s", "1960"),
            ("May 15, 1525", "may 15 1525"),
            ("15 May 1525", "15 may 1525"),
            ("1525-05-15", "may 15 1525"),
            ("$2 million", "2000000"),
            ("2,000,000", "2000000"),
            ("2.5 billion", "2500000000"),
            ("1.25 hundred", "125"),
            ("1.255 hundred", "1.255 hundred"),
            ("215 BCE", "215 bc"),
            ("September 1756", "sep 1756"),
            ("Ⅻ ｆｕｌｌ-width", "xii full width"),
            ("", ""),
        ]
        for (text, want) in cases { XCTAssertEqual(AnswerText.normalize(text), want, text) }
        XCTAssertTrue(AnswerText.tokensMatch("journalist", "journalism"))
        XCTAssertTrue(AnswerText.tokensMatch("student", "students"))
        XCTAssertTrue(AnswerText.tokensMatch("hydroelectric", "hydroelectricity"))
        XCTAssertFalse(AnswerText.tokensMatch("cat", "cats"))
        XCTAssertFalse(AnswerText.tokensMatch("1830", "1831"))
        XCTAssertFalse(AnswerText.tokensMatch("national", "natural"))
        // Loose matching of the gold's new part: suffixes, small misspellings, any one alternative of the gold.
        func stem(_ w: String) -> String { String(String.UnicodeScalarView(AnswerText.stem(w.unicodeScalars.map(\.value)).compactMap(Unicode.Scalar.init))) }
        XCTAssertEqual(stem("symbolically"), "symbol")
        XCTAssertEqual(stem("symbols"), "symbol")
        XCTAssertEqual(stem("planned"), "plan")
        XCTAssertEqual(stem("cat"), "cat")
        XCTAssertEqual(AnswerText.editDistance(Array("tsakhiagin".unicodeScalars.map(\.value)), Array("tsakhiagian".unicodeScalars.map(\.value)), atMost: 2), 1)
        XCTAssertEqual(AnswerFeatures.alternatives("probabilistic (or \"Monte Carlo\")"), ["probabilistic (or \"Monte Carlo\")", "probabilistic"])
        XCTAssertEqual(AnswerFeatures.alternatives("Breast milk or colostrum"), ["Breast milk or colostrum", "Breast milk", "colostrum"])
        XCTAssertEqual(AnswerFeatures.alternatives("Otrar"), ["Otrar"])
        let fullRecallNew = AnswerFeatures.compute(question: "What do infants get antibodies through?", gold: "Breast milk or colostrum",
                                                   prediction: "Through breast milk.")[2]
        XCTAssertEqual(fullRecallNew, 1)
        XCTAssertTrue(AnswerText.isNumber("3.5") && !AnswerText.isNumber("3.") && !AnswerText.isNumber("a1"))
    }

    func testClearCases() throws {
        let g = LocalGrader()
        func ok(_ q: String, _ golds: [String], _ p: String) throws -> Bool {
            try g.grade([GradeItem(question: q, golds: golds, prediction: p)])[0].correct
        }
        XCTAssertTrue(try ok("Which NFL team represented the AFC at Super Bowl 50?", ["Denver Broncos"], "It was the Denver Broncos."))
        XCTAssertFalse(try ok("Which NFL team represented the AFC at Super Bowl 50?", ["Denver Broncos"], "The Carolina Panthers."))
        XCTAssertFalse(try ok("Which NFL team represented the AFC at Super Bowl 50?", ["Denver Broncos"], ""))
        XCTAssertTrue(try ok("When was the Battle of Frankenhausen?", ["15 May 1525"], "The battle took place on May 15, 1525."))
        XCTAssertFalse(try ok("In what year were hours limited?", ["1847"], "Hours were limited in 1849."))
        XCTAssertTrue(try ok("How many were there?", ["twenty-five"], "There were 25."))
        XCTAssertTrue(try ok("How much was spent?", ["$2 million"], "About 2,000,000 dollars were spent."))
        // Any accepted answer suffices.
        XCTAssertFalse(try ok("Who won?", ["Denver"], "The Broncos won."))
        XCTAssertTrue(try ok("Who won?", ["Denver", "the Broncos"], "The Broncos won."))
        let v = try g.grade([GradeItem(question: "q", gold: "Otrar", prediction: "Otrar")])[0]
        XCTAssertTrue(v.parsed)
        XCTAssertNil(v.raw)
        XCTAssertGreaterThan(v.score!, g.model.threshold)
    }

    /// The shipped weights are what fitting on the calibration split gives: nothing of the held-out third went
    /// into them. (Refit here; the fit is deterministic.)
    func testShippedModelIsTheCalibrationSplitFit() throws {
        let (_, distinct) = try Calibration.load()
        let cal = distinct.filter { !Verdicts.isHeldOut($0) }
        XCTAssertGreaterThan(cal.count, 6000)
        XCTAssertGreaterThan(distinct.count - cal.count, 2500)
        let xs = cal.map { AnswerFeatures.compute(question: $0.question, gold: $0.gold, prediction: $0.prediction) }
        let m = GraderModel.fit(features: xs, labels: cal.map(\.correct))
        let shipped = LocalGrader.calibrated
        XCTAssertEqual(m.weights.count, AnswerFeatures.names.count)
        for (k, (a, b)) in zip(m.weights, shipped.weights).enumerated() {
            XCTAssertEqual(a, b, accuracy: 1e-6 * max(1, abs(b)), "weight of \(AnswerFeatures.names[k])")
        }
        XCTAssertEqual(m.bias, shipped.bias, accuracy: 1e-6 * max(1, abs(shipped.bias)))
        XCTAssertEqual(m.threshold, shipped.threshold, accuracy: 1e-6)
    }

    /// Agreement with GPT-4.1 and bias (grader accuracy minus GPT-4.1's on the same answers) on the held-out third
    /// of the passages, overall and per source file. Measured when the weights were fitted: held-out agreement
    /// 86.87 %, bias −0.31 points (calibration 88.55 %); per file on held-out rows 83.6–91.6 %, bias −4.2 to +6.6
    /// points. Thresholds are those minus a margin.
    func testHeldOutAgreementWithGPT41() throws {
        let (records, _) = try Calibration.load()
        let report = try CalibrationReport.measure(records, grader: LocalGrader())
        XCTAssertEqual(report.all.count, 9591)
        XCTAssertGreaterThanOrEqual(report.heldOut.agreement, 0.855, "held-out agreement")
        XCTAssertLessThanOrEqual(abs(report.heldOut.bias), 0.015, "held-out bias")
        XCTAssertGreaterThanOrEqual(report.calibration.agreement, 0.875)
        XCTAssertGreaterThanOrEqual(report.heldOut.kappa, 0.70)
        var files = 0
        for (source, splits) in report.perSource where !source.contains("[") {
            let a = splits["held-out"]!
            XCTAssertGreaterThanOrEqual(a.agreement, 0.83, source)
            XCTAssertLessThanOrEqual(abs(a.bias), 0.06, source)
            files += 1
        }
        XCTAssertEqual(files, 6)
        // The plain containment rule, measured the same way, is clearly worse: the calibration earns its keep.
        let plain = try CalibrationReport.measure(records, grader: ContainmentGrader())
        XCTAssertGreaterThan(report.heldOut.agreement - plain.heldOut.agreement, 0.015)
        XCTAssertLessThan(plain.heldOut.bias, -0.05)
    }

    func testVerdictFilesAndSplit() throws {
        let dir = scratchRoot.appendingPathComponent("verdicts-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try """
        {"question": "Who?", "gold": "Otrar", "prediction": "Otrar", "correct": true, "passage": "P1"}

        {"question": "Who?", "gold": "Otrar", "prediction": "Bukhara", "correct": false}
        {"question": "Who?", "gold": "Otrar", "prediction": "Otrar", "correct": false, "passage": "P1"}
        {"question": "Who?", "gold": "Otrar", "prediction": "Otrar", "correct": true, "passage": "P1"}
        """.write(to: dir.appendingPathComponent("a.jsonl"), atomically: true, encoding: .utf8)
        let rs = try Verdicts.load(dir.path)
        XCTAssertEqual(rs.count, 4)
        XCTAssertEqual(rs[1].passage, "Who?")
        let u = Verdicts.unique(rs)
        XCTAssertEqual(u.count, 2)
        XCTAssertTrue(u[0].correct)  // 2 of 3 said yes
        // The split is a function of the passage alone, and holds out about a third of SEAL's passages.
        let (_, distinct) = try Calibration.load()
        var held = Set<String>(), all = Set<String>()
        for r in distinct {
            all.insert(r.passage)
            if Verdicts.isHeldOut(r) { held.insert(r.passage) }
        }
        XCTAssertEqual(Double(held.count) / Double(all.count), 1.0 / 3, accuracy: 0.06)
        XCTAssertTrue(distinct.allSatisfy { Verdicts.isHeldOut($0) == held.contains($0.passage) })

        try #"{"question": "Who?", "gold": "Otrar", "prediction": "Otrar"}"#.write(to: dir.appendingPathComponent("b.jsonl"), atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try Verdicts.load(dir.path)) { XCTAssertTrue("\($0)".contains("b.jsonl:1") && "\($0)".contains("correct"), "\($0)") }
        let bad = dir.appendingPathComponent("c.json")
        try #"{"articles": [{"title": "T", "context": "C", "completions": [{"questions": [{"question": "q", "answer": "a", "adapter_answer": "a"}]}]}]}"#
            .write(to: bad, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try Verdicts.load(bad.path)) { XCTAssertTrue("\($0)".contains("articles[0].completions[0].questions[0]") && "\($0)".contains("adapter_correct"), "\($0)") }
        XCTAssertThrowsError(try Verdicts.load(dir.appendingPathComponent("missing").path)) { XCTAssertTrue("\($0)".contains("missing")) }
    }

    func testFitRecoversAKnownRule() {
        // Labels from a known logistic rule over two features: the fit finds its weights back.
        var rng = PythonRandom(seed: 3)
        var xs: [[Double]] = [], ys: [Bool] = []
        for _ in 0..<4000 {
            let x = [rng.random() * 4 - 2, rng.random() * 4 - 2]
            let p = 1 / (1 + exp(-(1.5 * x[0] - 2 * x[1] + 0.5)))
            xs.append(x); ys.append(rng.random() < p)
        }
        let m = GraderModel.fit(features: xs, labels: ys, l2: 0)
        XCTAssertEqual(m.weights[0], 1.5, accuracy: 0.2)
        XCTAssertEqual(m.weights[1], -2, accuracy: 0.2)
        XCTAssertEqual(m.bias, 0.5, accuracy: 0.2)
        // The threshold makes the fitted grader's yes-rate equal the labels' on the fitting set.
        XCTAssertEqual(xs.filter { m.probability($0) >= m.threshold }.count, ys.filter { $0 }.count)
    }
}

final class JudgeTests: XCTestCase {
    func testReplyParsing() {
        XCTAssertEqual(JudgePrompt.parse("Yes."), true)
        XCTAssertEqual(JudgePrompt.parse("YES"), true)
        XCTAssertEqual(JudgePrompt.parse("no"), false)
        XCTAssertEqual(JudgePrompt.parse(" No, it does not."), false)
        XCTAssertNil(JudgePrompt.parse("Yes and no"))
        XCTAssertNil(JudgePrompt.parse("Noted; yesterday"))
        XCTAssertNil(JudgePrompt.parse("Once upon a time"))
        XCTAssertNil(JudgePrompt.parse(""))
    }

    /// The paper's grading prompt (SEAL appendix B.4 / its code), filled in.
    func testPromptIsThePapers() {
        let t = JudgePrompt.text(question: "Q?", gold: "G", prediction: "  P \n")
        XCTAssertEqual(t, "You are a grading assistant. Your job is to determine whether a student's answer correctly answers the question based solely on the provided gold answer. Do not use any outside knowledge. The student answer can include additional information, but it must at least fully convey the gold answer and must not contradict it. Ignore style, phrasing, or extra details that do not affect correctness. Respond ONLY with 'yes' or 'no'.\n\nQuestion: Q?\nGold answer: G\nStudent answer: P\nIs the student answer correct based solely on the gold answer? Respond 'yes' or 'no'.")
    }

    /// One question per gold answer; any yes makes the answer correct; an unparseable reply is incorrect and
    /// marked, with the replies kept.
    func testVerdictsFromReplies() throws {
        let items = [GradeItem(question: "a", golds: ["g1", "g2"], prediction: "p"), GradeItem(question: "b", gold: "g", prediction: "p"),
                     GradeItem(question: "c", gold: "g", prediction: "p"), GradeItem(question: "d", golds: ["g1", "g2"], prediction: "p")]
        let replies = ["No.", "Yes", "Maybe", "no", "No", "The answer is unclear"]
        var asked: [String] = []
        let vs = try JudgePrompt.verdicts(items) { asked = $0; return replies }
        XCTAssertEqual(asked.count, 6)
        XCTAssertTrue(asked[1].contains("Gold answer: g2\n") && asked[1].contains("Question: a\n"))
        XCTAssertEqual(vs.map(\.correct), [true, false, false, false])
        XCTAssertEqual(vs.map(\.parsed), [true, false, true, false])
        XCTAssertEqual(vs.map(\.raw), ["No. | Yes", "Maybe", "no", "No | The answer is unclear"])
    }

    func testGraderSettingsErrors() throws {
        var s = GraderSettings()
        s.kind = "llm"
        XCTAssertThrowsError(try s.makeGrader()) { XCTAssertTrue("\($0)".contains("grader.model")) }
        s.model = "/nonexistent/judge"
        XCTAssertThrowsError(try s.makeGrader()) { XCTAssertTrue("\($0)".contains("/nonexistent/judge")) }
        s.kind = "http"
        XCTAssertThrowsError(try s.makeGrader()) { XCTAssertTrue("\($0)".contains("grader.url")) }
        s.url = "http://127.0.0.1:9"
        XCTAssertEqual(try s.makeGrader().name, "http:http://127.0.0.1:9")
        s.kind = "gpt"
        XCTAssertThrowsError(try s.makeGrader()) { XCTAssertTrue("\($0)".contains("'gpt'")) }
        s.kind = "local"
        XCTAssertTrue(try s.makeGrader() is LocalGrader)
    }
}
