// A tokenizer.json as a model directory brings it: Tokenizer(tokenizerJSON:) parses the model, normalizer,
// pre-tokenizer, post-processor, decoder and added tokens; a tokenizer that loads then encodes and decodes a few
// texts (the vocabulary, merges and added tokens are the input's), and decodes every id near its vocabulary.
import FuzzSupport
import Foundation
import SealTokenizer

let texts = ["Hello world", " the  quick\tbrown\nfox ", "<|im_start|>user\nhi<|im_end|>", "日本語 ünïcødé 🙂", "", "a\u{0}b\r\n", "123 4567 ,.!?'s"]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    for cleanup in [false, true] {
        guard let tok = try? Tokenizer(tokenizerJSON: Fuzz.data(data, size), source: "tokenizer.json", cleanUpTokenizationSpaces: cleanup) else { return 0 }
        for t in texts {
            let ids = tok.encode(t)
            _ = tok.decode(ids)
            _ = tok.decode(ids, skipSpecialTokens: true)
            _ = tok.encode(t, addSpecialTokens: false)
        }
        let n = tok.vocabSize
        _ = tok.decode([-1, 0, n - 1, n, n + 1, Int.max, Int.min])
        for id in [-1, 0, n - 1, n, Int.max] { _ = tok.tokenString(id); _ = tok.tokenBytes(id) }
        _ = tok.tokenID("")
    }
    return 0
}
