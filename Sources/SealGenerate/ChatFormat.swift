import Foundation
import SealTokenizer

/// The chat formats of the two model families seal targets, written out in code (no template engine).
///
/// BOS is never written into the text: `tokenizer.encode` adds it where the tokenizer does (Llama-3 adds
/// `<|begin_of_text|>`, Qwen2.5 adds nothing), which is what `apply_chat_template` produces.
public enum ChatFormat: String, Sendable {
    case qwen2, llama3

    /// The format a tokenizer's special tokens imply, or nil when it has neither.
    public static func detect(_ tokenizer: Tokenizer) -> ChatFormat? {
        if tokenizer.tokenID("<|im_start|>") != nil { return .qwen2 }
        if tokenizer.tokenID("<|start_header_id|>") != nil { return .llama3 }
        return nil
    }

    /// A one-turn conversation ending where the assistant starts to answer.
    /// - Parameter system: Qwen2.5's template inserts its default system prompt when none is given; Llama 3.x's
    ///   inserts a dated system header. Both defaults are reproduced so prompts equal `apply_chat_template`'s.
    public func prompt(user: String, system: String? = nil) -> String {
        switch self {
        case .qwen2:
            let sys = system ?? "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."
            return "<|im_start|>system\n\(sys)<|im_end|>\n<|im_start|>user\n\(user)<|im_end|>\n<|im_start|>assistant\n"
        case .llama3:
            var s = "<|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n"
            if let system { s += system }
            s += "<|eot_id|><|start_header_id|>user<|end_header_id|>\n\n\(user)<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"
            return s
        }
    }

    /// Token that ends an assistant turn in this format (also a stop token when generating chat answers).
    public var endOfTurn: String {
        switch self { case .qwen2: "<|im_end|>"; case .llama3: "<|eot_id|>" }
    }
}
