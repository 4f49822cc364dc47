// Reference verdicts (`seal knowledge grade --verdicts`: JSONL of {question, gold, prediction, correct}, or SEAL's
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
    for r in records.prefix(16) {
        let item = GradeItem(question: r.question, golds: [r.gold], prediction: r.prediction)
        for g in gs { _ = try? g.grade([item]) }
        _ = AnswerFeatures.compute(question: r.question, gold: r.gold, prediction: r.prediction)
    }
    return 0
}
