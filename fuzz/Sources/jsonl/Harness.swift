// Training rows (`seal finetune --data`, SFT data): Dataset.load reads the JSONL, Dataset.encode tokenizes the rows
// as finetuning does, with the toy world's tokenizer, for each loss mode, with and without EOS, cut at 64 tokens.
import FuzzSupport
import Foundation
import SealTokenizer
import SealTrain

nonisolated(unsafe) let tokenizer: Tokenizer = {
    Fuzz.cleanUpAtExit()
    let dir = Fuzz.repositoryRoot + "/models/toyworld"
    do { return try Tokenizer(directory: URL(fileURLWithPath: dir)) } catch { fatalError("seal-fuzz: \(dir): \(error)") }
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let tok = tokenizer
    let path = Fuzz.writeScratch("train.jsonl", data, size)
    guard let rows = try? Dataset.load(path) else { return 0 }
    for lossOn in LossOn.allCases {
        for appendEOS in [false, true] {
            _ = try? Dataset.encode(rows, tokenizer: tok, lossOn: lossOn, maxLength: 64, eosID: tok.tokenID("<|endoftext|>") ?? 0,
                                    appendEOS: appendEOS, source: path)
        }
    }
    return 0
}
