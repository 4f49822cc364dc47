import ArgumentParser
import Foundation
import SealKernels
import SealKnowledge
import SealTokenizer

/// Which grader a command uses, and its settings (the same choices as the `grader.*` config keys).
struct GraderOptions: ParsableArguments {
    @Option(help: "local (no service), contains (normalised gold inside the answer), llm (a local instruct model judges), or http (an OpenAI-compatible server judges).")
    var grader = "local"
    @Option(help: "grader llm: model directory of the judge.") var judgeModel: String?
    @Option(help: "grader http: base URL of the server (http://host:port; /v1/chat/completions is appended).") var judgeUrl: String?
    @Option(help: "grader http: the 'model' field of each request.") var judgeApiModel = "default"
    @Option(help: "grader http: name of an environment variable holding an API key (sent as a Bearer token).") var judgeApiKeyEnv = ""
    @Option(help: "Judge: longest reply in tokens.") var judgeMaxTokens = 8
    @Option(help: "grader http: seconds to wait for one reply.") var judgeTimeout = 120.0
    @Option(help: "grader http: PEM bundle of the certificate authorities an https judge's certificate is checked against (default: SSL_CERT_FILE, else the system's).")
    var judgeCaFile: String?
    @Option(help: "grader llm: wrap the question in the judge's chat format (auto: when its tokenizer has one).") var judgeChat = "auto"
    @Option(help: "Threads for the llm judge (default: SLURM_CPUS_PER_TASK, else all cores).") var threads: Int?

    var settings: GraderSettings {
        var s = GraderSettings()
        s.kind = grader
        s.model = judgeModel ?? ""
        s.url = judgeUrl ?? ""
        s.apiModel = judgeApiModel
        s.apiKeyEnv = judgeApiKeyEnv
        s.maxTokens = judgeMaxTokens
        s.timeout = judgeTimeout
        s.chat = judgeChat
        s.caFile = judgeCaFile ?? ""
        return s
    }

    func make() throws -> AnswerGrading {
        if let t = threads, t <= 0 { throw ValidationError("--threads must be positive") }
        BLASRuntime.setThreads(BLASRuntime.defaultThreads(explicit: threads, environment: ProcessInfo.processInfo.environment))
        return try settings.makeGrader()
    }
}

/// `seal grade`: grades answers given on JSON lines.
struct GradeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "grade",
        abstract: "Grade answers: one JSON line {\"question\", \"gold\", \"prediction\"} in, one {\"correct\": true|false} out, in order.",
        discussion: "`gold` is a string or a list of accepted answers (any one suffices). With --json each output line also carries the local grader's score or the judge's raw reply and whether it parsed.")
    @Option(help: "JSONL file of {\"question\", \"gold\", \"prediction\"} lines (- for standard input).") var input: String
    @Flag(help: "Richer output lines: score / raw judge reply / parsed.") var json = false
    @OptionGroup var graderOptions: GraderOptions

    func run() throws {
        try reportingErrors {
            let data: Data
            if input == "-" { data = FileHandle.standardInput.readDataToEndOfFile() } else {
                guard let d = FileManager.default.contents(atPath: input) else { throw KnowledgeDataError("\(input): cannot read") }
                data = d
            }
            let items = try GradeInput.parse(data, source: input)
            let grader = try graderOptions.make()
            let verdicts = try grader.grade(items)
            for v in verdicts {
                var o: [String: Any] = ["correct": v.correct]
                if json {
                    o["parsed"] = v.parsed
                    if let s = v.score { o["score"] = s }
                    if let r = v.raw { o["raw"] = r }
                }
                printJSON(o)
            }
        }
    }
}

/// `seal knowledge grade`: a grader against reference verdicts (GPT-4.1's in SEAL's query_server results).
struct KnowledgeGradeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "grade",
        abstract: "Measure a grader against reference verdicts: agreement and bias (grader accuracy minus the reference's) on the held-out and calibration splits and per file.",
        discussion: """
        --verdicts takes SEAL's results/query_server folder (or one of its files, or JSONL rows {"question", "gold", \
        "prediction", "correct", ["passage"]}). Passages are split deterministically by hash: a third held out, the \
        rest for calibration. Overall figures count each distinct (question, gold, prediction) once; per-file figures \
        count every row of the file. --fit refits the local grader on the calibration split and prints its weights.
        """)
    @Option(help: "Folder or file of reference verdicts.") var verdicts: String
    @Flag(help: "One JSON object.") var json = false
    @Flag(help: "Refit the local grader on the calibration split; measure and print the fitted model.") var fit = false
    @Flag(help: "Refit the local grader three times, each time holding out one third of the passages, and report each third's agreement and bias (how much the figures move with the split).")
    var crossValidate = false
    @Option(help: "Also write one JSON line per distinct answer to this file: fold (0 = held out), question, gold, prediction, reference verdict, the local grader's features, probability and verdict (for analysis in Python).")
    var dump: String?
    @OptionGroup var graderOptions: GraderOptions

    func run() throws {
        try reportingErrors {
            let records = try Verdicts.load(verdicts)
            if let dump { try writeDump(records, to: dump) }
            if crossValidate {
                let distinct = Verdicts.unique(records)
                let xs = distinct.map { AnswerFeatures.compute(question: $0.question, gold: $0.gold, prediction: $0.prediction) }
                var folds: [[String: Any]] = []
                for fold in 0..<3 {
                    let trainIdx = distinct.indices.filter { Verdicts.fold(distinct[$0]) != fold }
                    let m = GraderModel.fit(features: trainIdx.map { xs[$0] }, labels: trainIdx.map { distinct[$0].correct })
                    var a = Agreement()
                    for i in distinct.indices where Verdicts.fold(distinct[i]) == fold { a.add(grader: m.probability(xs[i]) >= m.threshold, reference: distinct[i].correct) }
                    folds.append(a.json)
                    if !json {
                        print(String(format: "fold %d: %5d answers  agreement %6.2f %%  bias %+6.2f pts  kappa %.3f", fold, a.count, 100 * a.agreement, 100 * a.bias, a.kappa))
                    }
                }
                if json { printJSON(["folds": folds]) }
                return
            }
            var grader: AnswerGrading
            var fitted: GraderModel? = nil
            if fit {
                guard graderOptions.grader == "local" else { throw ValidationError("--fit refits the local grader; leave --grader at local") }
                let cal = Verdicts.unique(records).filter { !Verdicts.isHeldOut($0) }
                let xs = cal.map { AnswerFeatures.compute(question: $0.question, gold: $0.gold, prediction: $0.prediction) }
                let m = GraderModel.fit(features: xs, labels: cal.map(\.correct))
                fitted = m
                grader = LocalGrader(model: m)
            } else {
                grader = try graderOptions.make()
            }
            let report = try CalibrationReport.measure(records, grader: grader)
            if json {
                var o: [String: Any] = ["grader": grader.name, "rows": records.count, "held_out": report.heldOut.json,
                                        "calibration": report.calibration.json, "all": report.all.json, "unparsed": report.unparsed,
                                        "per_source": report.perSource.mapValues { $0.mapValues(\.json) }]
                if let m = fitted {
                    o["model"] = ["features": AnswerFeatures.names, "weights": m.weights, "bias": m.bias, "threshold": m.threshold]
                }
                printJSON(o)
                return
            }
            func line(_ label: String, _ a: Agreement) -> String {
                String(format: "%-40@ %6d  agreement %6.2f %%  grader %6.2f %%  reference %6.2f %%  bias %+6.2f pts  kappa %.3f",
                       label as NSString, a.count, 100 * a.agreement, 100 * a.graderAccuracy, 100 * a.referenceAccuracy, 100 * a.bias, a.kappa)
            }
            print("grader \(grader.name) on \(records.count) verdict rows (\(report.all.count) distinct answers)")
            print(line("held-out (distinct answers)", report.heldOut))
            print(line("calibration (distinct answers)", report.calibration))
            print(line("all (distinct answers)", report.all))
            if report.unparsed > 0 { print("unparseable judge replies (counted incorrect): \(report.unparsed)") }
            print("per file, held-out rows:")
            for k in report.perSource.keys.sorted() { if let a = report.perSource[k]?["held-out"] { print(line("  " + k, a)) } }
            print("per file, all rows:")
            for k in report.perSource.keys.sorted() { if let a = report.perSource[k]?["all"] { print(line("  " + k, a)) } }
            if let m = fitted {
                print("fitted model (features: \(AnswerFeatures.names.joined(separator: ", "))):")
                print("GraderModel(weights: [\(m.weights.map { String(format: "%.17g", $0) }.joined(separator: ", "))],")
                print("            bias: \(String(format: "%.17g", m.bias)), threshold: \(String(format: "%.17g", m.threshold)))")
            }
        }
    }

    /// The distinct answers with what the local grader sees in them, one JSON object a line.
    func writeDump(_ records: [VerdictRecord], to path: String) throws {
        let grader = LocalGrader()
        var out = ""
        for r in Verdicts.unique(records) {
            let x = AnswerFeatures.compute(question: r.question, gold: r.gold, prediction: r.prediction)
            let o: [String: Any] = ["fold": Verdicts.fold(r), "source": r.source, "kind": r.kind, "question": r.question, "gold": r.gold,
                                    "prediction": r.prediction, "correct": r.correct, "features": x,
                                    "probability": grader.model.probability(x), "grader": grader.model.probability(x) >= grader.model.threshold]
            let d = try JSONSerialization.data(withJSONObject: o, options: [.sortedKeys, .withoutEscapingSlashes])
            out += String(decoding: d, as: UTF8.self) + "\n"
        }
        guard FileManager.default.createFile(atPath: path, contents: Data(out.utf8)) else { throw ValidationError("\(path): cannot write") }
    }
}
