// `seal serve`'s request bodies (POST /v1/chat/completions and /v1/completions) through CompletionRequest, the
// decoding the server runs on every request: JSON → checked fields. A decoded request must hold what the server
// relies on (ranges, finite numbers, non-empty prompts); a violation traps, and libFuzzer keeps the input.
// (The HTTP framing itself — request line, headers, chunked bodies — is SwiftNIO's parser under Hummingbird.)
import FuzzSupport
import Foundation
import SealHTTP

let limits = CompletionRequest.Limits(modelName: "seal-fuzz", context: 2048, defaultMaxTokens: 256)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let body = Fuzz.data(data, size)
    for chat in [true, false] {
        do {
            let r = try CompletionRequest(json: body, chat: chat, limits: limits)
            precondition((1...limits.context).contains(r.maxTokens), "max_tokens \(r.maxTokens) out of range")
            precondition((1...limits.maxSamples).contains(r.n), "n \(r.n) out of range")
            precondition(r.temperature.isFinite && (0...2).contains(r.temperature), "temperature \(r.temperature)")
            precondition(r.topP.isFinite && r.topP > 0 && r.topP <= 1, "top_p \(r.topP)")
            precondition(r.seed.map { $0 <= UInt64(Int.max) } ?? true, "seed \(String(describing: r.seed))")
            precondition(!r.stop.contains(""), "an empty stop string")
            precondition(chat ? (!r.messages.isEmpty && r.prompts.isEmpty) : (!r.prompts.isEmpty && r.messages.isEmpty), "no prompt")
        } catch {
            precondition(!error.description.isEmpty, "an error without a message")
        }
    }
    return 0
}
