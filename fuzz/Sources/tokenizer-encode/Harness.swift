// Text an outsider writes (prompts, passages, `seal tokenize`, a served request) through the real tokenizers:
// byte-level BPE (Qwen2.5, with its added tokens and split regex), SentencePiece-style BPE with byte fallback
// (TinyStories' Llama tokenizer) and the toy world's. The input is also read as a list of ids to decode, as
// `seal detokenize` takes them. Valid UTF-8 must come back from a byte-level decode as it went in.
import FuzzSupport
import Foundation
import SealTokenizer

let tokenizers: [(name: String, tokenizer: Tokenizer, byteLevel: Bool)] = {
    let root = Fuzz.repositoryRoot
    var out: [(String, Tokenizer, Bool)] = []
    for (dir, byteLevel) in [("\(root)/../shared/models/qwen2.5-tokenizer", true), ("\(root)/../shared/models/tinystories-656k", false),
                             ("\(root)/models/toyworld", false)] {
        guard FileManager.default.fileExists(atPath: dir + "/tokenizer.json") else { continue }
        do { out.append((dir, try Tokenizer(directory: URL(fileURLWithPath: dir)), byteLevel)) } catch {
            fatalError("seal-fuzz: the tokenizer in \(dir) does not load: \(error)")
        }
    }
    precondition(!out.isEmpty, "seal-fuzz: no tokenizer found under \(root) (set SEAL_ROOT to the seal checkout)")
    return out
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = Fuzz.text(data, size)
    var ids: [Int] = []
    var i = 0
    while i + 4 <= size {
        ids.append(Int(Int32(bitPattern: UInt32(data[i]) | UInt32(data[i + 1]) << 8 | UInt32(data[i + 2]) << 16 | UInt32(data[i + 3]) << 24)))
        i += 4
    }
    for (name, tok, byteLevel) in tokenizers {
        let encoded = tok.encode(text, addSpecialTokens: false)
        let back = tok.decode(encoded)
        // Only where the text has no added token (those are matched, and decoded, as whole tokens) and is valid UTF-8.
        if byteLevel, String(validating: UnsafeBufferPointer(start: data, count: size), as: UTF8.self) != nil,
           encoded.allSatisfy({ !tok.specialTokenIDs.contains($0) }), back != text {
            fatalError("seal-fuzz: \(name) decode(encode(text)) != text for \(encoded.count) ids: \(text.debugDescription) -> \(back.debugDescription)")
        }
        _ = tok.encode(text)
        _ = tok.decode(ids)
        _ = tok.decode(ids, skipSpecialTokens: true)
    }
    return 0
}
