// GGUF files (llama.cpp's format), parsed from memory: GGUFFile checks the header, the metadata and the tensor
// infos against the bytes there are; every tensor it declares is dequantized to float32 (an undequantizable type is
// an error); the tokenizer's metadata is read through the typed accessors; and the file is loaded as a model, as
// `TransformerModel.load` does a `.gguf` (its parameter buffer is bounded by the tensors the input holds).
import FuzzSupport
import Foundation
import SealModel

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard let file = try? GGUFFile(data: Fuzz.data(data, size), name: "fuzz.gguf") else { return 0 }
    for t in file.tensors {
        let out = UnsafeMutablePointer<Float>.allocate(capacity: max(t.count, 1))
        _ = try? file.dequantize(t, into: out)
        out.deallocate()
    }
    for key in ["tokenizer.ggml.tokens", "tokenizer.ggml.scores", "tokenizer.ggml.token_type", "tokenizer.ggml.merges"] {
        _ = try? file.strings(key)
        _ = try? file.floats(key: key)
        _ = try? file.ints(key)
    }
    _ = try? file.string("tokenizer.ggml.model")
    _ = try? file.int("tokenizer.ggml.bos_token_id")
    _ = try? file.bool("tokenizer.ggml.add_bos_token", default: false)
    _ = try? TransformerModel.load(gguf: file)
    return 0
}
