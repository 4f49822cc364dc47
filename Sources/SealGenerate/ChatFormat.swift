import Foundation
import SealTokenizer

/// The chat formats seal writes, in code (no template engine): Qwen2.5's and Llama-3's templates, and ChatML with
/// the default system message a template names (SmolLM2's).
///
/// BOS is never written into the text. `encode` gives `apply_chat_template`'s ids: Llama-3's template writes
/// `bos_token`, so its prompts are encoded with the tokenizer's special tokens (`<|begin_of_text|>`); ChatML
/// templates write none, so theirs are encoded without (Qwen2.5 adds nothing anyway; SmolLM2's GGUF tokenizer would
/// put a second `<|im_start|>` before the first).
public enum ChatFormat: Sendable, Equatable {
    case qwen2, llama3
    /// `<|im_start|>role\n…<|im_end|>\n` turns, opened by this system message when the conversation has none.
    case chatML(defaultSystem: String?)

    /// Qwen2.5's default system message.
    public static let qwenSystem = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."

    /// The format of a tokenizer: its chat template's when it has one seal recognises (ChatML or Llama-3's), else the
    /// one its special tokens imply; nil when neither.
    public static func detect(_ tokenizer: Tokenizer) -> ChatFormat? {
        if let t = tokenizer.chatTemplate, let f = fromTemplate(t), tokenizer.tokenID(f.endOfTurn) != nil { return f }
        if tokenizer.tokenID("<|im_start|>") != nil { return .qwen2 }
        if tokenizer.tokenID("<|start_header_id|>") != nil { return .llama3 }
        return nil
    }

    /// The format a Jinja chat template writes: Llama-3's (`<|start_header_id|>`), or ChatML (`<|im_start|>`) with
    /// the system message it inserts when the conversation has none (Qwen2.5's is `.qwen2`); nil for others.
    public static func fromTemplate(_ template: String) -> ChatFormat? {
        if template.contains("<|start_header_id|>") { return .llama3 }
        guard template.contains("<|im_start|>") else { return nil }
        let system = defaultSystem(template)
        return system == qwenSystem ? .qwen2 : .chatML(defaultSystem: system)
    }

    /// The first string literal of the template that opens a system turn and holds its whole text:
    /// `'<|im_start|>system\n…<|im_end|>` with no quote or Jinja markup inside (`\n` written as an escape or a
    /// newline). Templates that assemble the system turn from variables give nil.
    static func defaultSystem(_ template: String) -> String? {
        let open = "<|im_start|>system"
        var rest = Substring(template)
        while let r = rest.range(of: open) {
            rest = rest[r.upperBound...]
            var body = rest
            if body.hasPrefix("\\n") { body = body.dropFirst(2) } else if body.hasPrefix("\n") { body = body.dropFirst() } else { continue }
            guard let end = body.range(of: "<|im_end|>") else { return nil }
            let text = body[..<end.lowerBound]
            if text.contains(where: { "'\"{}%".contains($0) }) { continue }
            return text.replacingOccurrences(of: "\\n", with: "\n")
        }
        return nil
    }

    /// A one-turn conversation ending where the assistant starts to answer.
    /// - Parameter system: without one, Qwen2.5's template and ChatML templates with a default insert their default
    ///   system message; Llama 3.x's inserts a dated system header. Both are reproduced so prompts equal
    ///   `apply_chat_template`'s.
    public func prompt(user: String, system: String? = nil) -> String {
        switch self {
        case .qwen2:
            let sys = system ?? ChatFormat.qwenSystem
            return "<|im_start|>system\n\(sys)<|im_end|>\n<|im_start|>user\n\(user)<|im_end|>\n<|im_start|>assistant\n"
        case .chatML(let defaultSystem):
            var s = ""
            if let sys = system ?? defaultSystem { s += "<|im_start|>system\n\(sys)<|im_end|>\n" }
            return s + "<|im_start|>user\n\(user)<|im_end|>\n<|im_start|>assistant\n"
        case .llama3:
            var s = "<|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n"
            if let system { s += system }
            s += "<|eot_id|><|start_header_id|>user<|end_header_id|>\n\n\(user)<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"
            return s
        }
    }

    /// The ids of a prompt this format wrote, as `apply_chat_template(…, tokenize=True)` gives them.
    public func encode(_ prompt: String, with tokenizer: Tokenizer) -> [Int] {
        tokenizer.encode(prompt, addSpecialTokens: addsSpecialTokens)
    }

    /// Whether a prompt this format wrote is encoded with the tokenizer's special tokens (BOS): Llama-3's template
    /// writes `bos_token` itself, ChatML templates write none.
    public var addsSpecialTokens: Bool {
        switch self {
        case .llama3, .qwen2: true
        case .chatML: false
        }
    }

    /// Token that ends an assistant turn in this format (also a stop token when generating chat answers).
    public var endOfTurn: String {
        switch self { case .qwen2, .chatML: "<|im_end|>"; case .llama3: "<|eot_id|>" }
    }
}
