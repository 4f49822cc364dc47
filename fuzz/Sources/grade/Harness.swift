// `seal grade`'s input (GradeInput) and reference verdicts (`seal knowledge grade --verdicts`: JSONL of {question, gold, prediction, correct}, or SEAL's
// query_server results JSON with 'articles') through Verdicts.load, the input read as each, and every record's answer through the local graders as `seal grade` and the engine grade them
// (the answer text normalisation, alternatives, features). Long answers are the point: run with a large -max_len.
import FuzzSupport
import Foundation
import SealKnowledge

nonisolated(unsafe) let graders: [AnswerGrading] = { Fuzz.cleanUpAtExit(); return [LocalGrader(), ContainmentGrader()] }()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let gs = graders
    var records: [VerdictRecord] = []
    for name in ["verdicts.jsonl", "verdicts.json"] {
        records += (try? Verdicts.load(Fuzz.writeScratch(name, data, size))) ?? []
    }
    var items = records.prefix(16).map { GradeItem(question: $0.question, golds: [$0.gold], prediction: $0.prediction) }
    // The same bytes as `seal grade`'s input: JSON lines of {question, gold (a string or a list), prediction}.
    items += ((try? GradeInput.parse(Fuzz.data(data, size), source: "grade.jsonl")) ?? []).prefix(16)
    for item in items {
        for g in gs { _ = try? g.grade([item]) }
        for gold in item.golds { _ = AnswerFeatures.compute(question: item.question, gold: gold, prediction: item.prediction) }
    }
    return 0
}
