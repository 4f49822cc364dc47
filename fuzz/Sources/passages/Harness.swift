// Passage files (knowledge.train_file / eval_file: SEAL's schema or official SQuAD) through KnowledgeData.load,
// and the same bytes as a self-edit file (knowledge.self_edit_file).
import FuzzSupport
import SealKnowledge

let scratch: Void = Fuzz.cleanUpAtExit()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    _ = scratch
    let path = Fuzz.writeScratch("passages.json", data, size)
    if let ps = try? KnowledgeData.load(path) { _ = KnowledgeData.select(ps, shuffleSeed: 7, skip: 1, count: 3) }
    _ = try? SelfEditFile(path: path)
    return 0
}
