import Foundation
import SealCore
import SealTokenizer

/// One reference verdict: GPT-4.1's (or another grader's) yes/no on a (question, gold, prediction).
public struct VerdictRecord: Sendable, Equatable {
    /// The file it came from, relative to the folder that was read (per-file reports).
    public var source: String
    /// The passage it is about ("title\ncontext"; for JSONL rows without a passage: the question), which decides
    /// the calibration / held-out split.
    public var passage: String
    public var question: String
    public var gold: String
    public var prediction: String
    public var correct: Bool
    /// "baseline" / "adapter" for SEAL's files; "" for JSONL rows.
    public var kind: String
}

/// The calibration set of the local grader: SEAL's `results/query_server/{eval,train}/*.json` (per passage, per
/// completion, per question: `baseline_answer`/`baseline_correct` and `adapter_answer`/`adapter_correct`, graded by
/// GPT-4.1), or JSONL rows `{"question", "gold", "prediction", "correct", ["passage"]}`.
public enum Verdicts {
    /// Reads a file, or every `*.json` / `*.jsonl` under a folder (sorted, recursively).
    public static func load(_ path: String) throws -> [VerdictRecord] {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { throw KnowledgeDataError("\(path): no such file or folder") }
        if !isDir.boolValue { return try loadFile(path, source: URL(fileURLWithPath: path).lastPathComponent) }
        guard let e = FileManager.default.enumerator(atPath: path) else { throw KnowledgeDataError("\(path): cannot list") }
        let files = (e.allObjects as? [String] ?? []).filter { $0.hasSuffix(".json") || $0.hasSuffix(".jsonl") }.sorted()
        if files.isEmpty { throw KnowledgeDataError("\(path): no .json or .jsonl files") }
        return try files.flatMap { try loadFile((path as NSString).appendingPathComponent($0), source: $0) }
    }

    static func loadFile(_ path: String, source: String) throws -> [VerdictRecord] {
        guard let data = FileManager.default.contents(atPath: path) else { throw KnowledgeDataError("\(path): cannot read") }
        if path.hasSuffix(".jsonl") {
            var out: [VerdictRecord] = []
            for line in try TextInput.lines(data, path: path) where !line.isBlank {
                guard let o = (try? JSONSerialization.jsonObject(with: Data(line.text.utf8))) as? [String: Any] else {
                    throw KnowledgeDataError("\(path):\(line.number): not a JSON object")
                }
                guard let q = o["question"] as? String, let g = o["gold"] as? String, let p = o["prediction"] as? String, let c = o["correct"] as? Bool else {
                    throw KnowledgeDataError("\(path):\(line.number): needs string 'question', 'gold', 'prediction' and bool 'correct'")
                }
                out.append(VerdictRecord(source: source, passage: o["passage"] as? String ?? q, question: q, gold: g, prediction: p, correct: c, kind: ""))
            }
            return out
        }
        guard let root = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw KnowledgeDataError("\(path): expected a JSON object with 'articles' (SEAL's query_server results)")
        }
        guard let articles = root["articles"] as? [Any] else { throw KnowledgeDataError("\(path): missing list 'articles'") }
        var out: [VerdictRecord] = []
        for (a, any) in articles.enumerated() {
            guard let art = any as? [String: Any], let title = art["title"] as? String, let context = art["context"] as? String,
                  let completions = art["completions"] as? [Any] else {
                throw KnowledgeDataError("\(path): articles[\(a)]: needs 'title', 'context' and a list 'completions'")
            }
            for (c, cAny) in completions.enumerated() {
                guard let comp = cAny as? [String: Any] else { throw KnowledgeDataError("\(path): articles[\(a)].completions[\(c)] is not an object") }
                for (q, qAny) in (comp["questions"] as? [Any] ?? []).enumerated() {
                    let at = "\(path): articles[\(a)].completions[\(c)].questions[\(q)]"
                    guard let qq = qAny as? [String: Any], let question = qq["question"] as? String, let gold = qq["answer"] as? String else {
                        throw KnowledgeDataError("\(at): needs string 'question' and 'answer'")
                    }
                    for kind in ["baseline", "adapter"] {
                        guard let pred = qq[kind + "_answer"] else { continue }
                        guard let p = pred as? String, let ok = qq[kind + "_correct"] as? Bool else {
                            throw KnowledgeDataError("\(at): '\(kind)_answer' needs a string and '\(kind)_correct' a bool")
                        }
                        out.append(VerdictRecord(source: source, passage: title + "\n" + context, question: question, gold: gold,
                                                 prediction: p, correct: ok, kind: kind))
                    }
                }
            }
        }
        return out
    }

    /// Each distinct (question, gold, prediction) once, with the majority verdict (ties: the first seen). SEAL's
    /// files repeat the baseline answers of a passage in every file and every repeat; counted once here.
    public static func unique(_ records: [VerdictRecord]) -> [VerdictRecord] {
        var order: [String] = []
        var groups: [String: (first: VerdictRecord, yes: Int, n: Int)] = [:]
        for r in records {
            let k = r.question + "\u{0}" + r.gold + "\u{0}" + r.prediction
            if var g = groups[k] {
                g.n += 1; if r.correct { g.yes += 1 }
                groups[k] = g
            } else {
                groups[k] = (r, r.correct ? 1 : 0, 1)
                order.append(k)
            }
        }
        return order.map { k in
            let g = groups[k]!
            var r = g.first
            if 2 * g.yes != g.n { r.correct = 2 * g.yes > g.n }
            return r
        }
    }

    /// The deterministic split: a passage is held out when its (mixed FNV-1a) hash is 0 mod 3, so about a third of
    /// the passages, with all their questions and answers, are never used for fitting.
    public static func isHeldOut(_ r: VerdictRecord) -> Bool { fold(r) == 0 }

    /// Which third of the passages a verdict belongs to (0: the held-out third).
    public static func fold(_ r: VerdictRecord) -> Int { Int(hash(r.passage) % 3) }

    static func hash(_ s: String) -> UInt64 {
        // SplitMix64's finaliser, so the residue mod 3 depends on every byte.
        SplitMix64.finalize(fnv1a64(s.utf8))
    }
}

/// How a grader's verdicts compare with reference verdicts on the same answers.
public struct Agreement: Sendable, Equatable {
    public var count = 0
    /// Both yes / grader yes, reference no / grader no, reference yes / both no.
    public var bothYes = 0, onlyGrader = 0, onlyReference = 0, bothNo = 0
    public init() {}

    public mutating func add(grader: Bool, reference: Bool) {
        count += 1
        switch (grader, reference) {
        case (true, true): bothYes += 1
        case (true, false): onlyGrader += 1
        case (false, true): onlyReference += 1
        case (false, false): bothNo += 1
        }
    }

    public var agreement: Double { count == 0 ? 0 : Double(bothYes + bothNo) / Double(count) }
    public var graderAccuracy: Double { count == 0 ? 0 : Double(bothYes + onlyGrader) / Double(count) }
    public var referenceAccuracy: Double { count == 0 ? 0 : Double(bothYes + onlyReference) / Double(count) }
    /// Grader accuracy minus reference accuracy on the same answers.
    public var bias: Double { graderAccuracy - referenceAccuracy }
    /// Cohen's kappa (agreement beyond chance).
    public var kappa: Double {
        let pe = graderAccuracy * referenceAccuracy + (1 - graderAccuracy) * (1 - referenceAccuracy)
        return pe >= 1 ? 1 : (agreement - pe) / (1 - pe)
    }

    public var json: [String: Any] {
        ["count": count, "agreement": agreement, "grader_accuracy": graderAccuracy, "reference_accuracy": referenceAccuracy,
         "bias": bias, "kappa": kappa, "both_yes": bothYes, "only_grader_yes": onlyGrader, "only_reference_yes": onlyReference, "both_no": bothNo]
    }
}

/// A grader measured against reference verdicts: overall on the distinct answers of each split, and per source
/// file (every row of the file, as the file's own accuracy counts them).
public struct CalibrationReport: Sendable {
    public var calibration = Agreement()
    public var heldOut = Agreement()
    public var all = Agreement()
    /// Per source file, and per source file and answer kind ("eval/base.json [adapter]"), then per split
    /// ("held-out" / "calibration" / "all"), over the file's rows.
    public var perSource: [String: [String: Agreement]] = [:]
    public var unparsed = 0

    /// Grades every distinct answer once (batched), then tallies.
    public static func measure(_ records: [VerdictRecord], grader: AnswerGrading, batch: Int = 256) throws -> CalibrationReport {
        let distinct = Verdicts.unique(records)
        var verdictOf: [String: GradeVerdict] = [:]
        var report = CalibrationReport()
        var start = 0
        while start < distinct.count {
            let chunk = Array(distinct[start..<min(distinct.count, start + batch)])
            let vs = try grader.grade(chunk.map { GradeItem(question: $0.question, gold: $0.gold, prediction: $0.prediction) })
            for (r, v) in zip(chunk, vs) {
                verdictOf[r.question + "\u{0}" + r.gold + "\u{0}" + r.prediction] = v
                if !v.parsed { report.unparsed += 1 }
                let held = Verdicts.isHeldOut(r)
                report.all.add(grader: v.correct, reference: r.correct)
                if held { report.heldOut.add(grader: v.correct, reference: r.correct) } else { report.calibration.add(grader: v.correct, reference: r.correct) }
            }
            start += batch
        }
        for r in records {
            let v = verdictOf[r.question + "\u{0}" + r.gold + "\u{0}" + r.prediction]!
            let split = Verdicts.isHeldOut(r) ? "held-out" : "calibration"
            for key in r.kind.isEmpty ? [r.source] : [r.source, "\(r.source) [\(r.kind)]"] {
                for s in [split, "all"] { report.perSource[key, default: [:]][s, default: Agreement()].add(grader: v.correct, reference: r.correct) }
            }
        }
        return report
    }
}
