import ArgumentParser
import Foundation
import SealGenerate
import SealModel
import SealTokenizer
import SealTrain

struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate", abstract: "Sample completions (KV-cached, continuously batched).",
        discussion: """
        Prompts are tokenized as HF's tokenizer(prompt) does (BOS only where the tokenizer adds it). With --chat each
        prompt is wrapped as one user turn of the model's chat format (Qwen2.5 or Llama-3, detected from the
        tokenizer). A prompt whose length plus --max-new-tokens exceeds the model's context is an error (no silent
        truncation). Temperature 0 is greedy. The same --seed gives the same samples whatever the batch size or the
        order of prompts: each (prompt, sample index) has its own random stream.
        """)
    @Option(help: "Model directory or .gguf file.") var model: String
    @Option(help: "PEFT adapter directory (applied on top of the model).") var adapter: String?
    @Option(help: "One prompt.") var prompt: String?
    @Option(help: "JSONL file: one {\"prompt\": ...} object (or a JSON string) per line.") var promptsFile: String?
    @Option(help: "Maximum new tokens per completion.") var maxNewTokens = 64
    @Option(help: "Sampling temperature (0 = greedy).") var temperature = 0.0
    @Option(help: "Nucleus sampling mass in (0, 1].") var topP = 1.0
    @Option(help: "Keep only the K most likely tokens (0 = all).") var topK = 0
    @Option(help: "Random seed.") var seed: UInt64 = 0
    @Option(help: "Completions per prompt.") var samples = 1
    @Option(help: "Stop string (repeatable).") var stop: [String] = []
    @Option(help: "Stop token: a token of the vocabulary (e.g. <|im_end|>) that ends a completion like EOS (repeatable).")
    var stopToken: [String] = []
    @Option(help: "Sequences decoded together.") var batchSize = 16
    @Flag(help: "Wrap each prompt in the model's chat format.") var chat = false
    @Flag(help: "One JSON object per completion per line.") var json = false
    @OptionGroup var runtime: RuntimeOptions

    func run() throws {
        try runtime.apply()
        try reportingErrors {
            let prompts = try loadPrompts()
            let dir = URL(fileURLWithPath: model)
            let m = try TransformerModel.load(directory: dir)
            let tok = try Tokenizer(model: dir)
            var params = SamplingParams(temperature: temperature, topP: topP, topK: topK, maxNewTokens: maxNewTokens,
                                        stop: stop, seed: seed)
            try params.validate()
            var texts = prompts
            var format: ChatFormat?
            if chat {
                guard let f = ChatFormat.detect(tok) else {
                    throw GenerationError.invalid("--chat: the tokenizer has neither a ChatML or Llama-3 chat template nor Qwen2.5's <|im_start|> or Llama-3's <|start_header_id|>")
                }
                texts = prompts.map { f.prompt(user: $0) }
                format = f
            }
            let gen = Generator(model: m, tokenizer: tok, maxBatch: batchSize)
            if let adapter { gen.lora = try PEFTAdapter.load(from: URL(fileURLWithPath: adapter), for: m) }
            for t in stopToken {
                guard let id = tok.tokenID(t) else {
                    throw GenerationError.invalid("--stop-token '\(t)' is not a token of this tokenizer's vocabulary")
                }
                gen.eosTokenIDs.insert(id)
            }
            if let format, let eot = tok.tokenID(format.endOfTurn) { gen.eosTokenIDs.insert(eot) }
            params.stop = stop
            let requests = texts.map { text -> GenerationRequest in
                let ids: [Int] = format?.encode(text, with: tok) ?? tok.encode(text)
                return GenerationRequest(prompt: ids.map { Int32($0) }, samples: samples)
            }
            let out = try gen.generate(requests, params: params)
            for c in out {
                if json {
                    printJSON(["prompt_index": c.promptIndex, "sample_index": c.sampleIndex, "token_ids": c.tokenIDs,
                               "text": c.text, "finish_reason": c.finishReason.rawValue, "logprob": c.logprob])
                } else {
                    print("[\(c.promptIndex).\(c.sampleIndex) \(c.finishReason.rawValue)] \(c.text)")
                }
            }
        }
    }

    func loadPrompts() throws -> [String] {
        switch (prompt, promptsFile) {
        case (let p?, nil):
            if p.isEmpty { throw GenerationError.invalid("--prompt is empty") }
            return [p]
        case (nil, let f?):
            guard let data = FileManager.default.contents(atPath: f) else { throw ModelError.fileMissing(path: f) }
            var out: [String] = []
            // LF or CRLF line ends, physical line numbers, strict UTF-8 (TextInput).
            for line in try TextInput.lines(data, path: f) where !line.isBlank {
                let at = "\(f):\(line.number)"
                guard let obj = try? JSONSerialization.jsonObject(with: Data(line.text.utf8), options: [.fragmentsAllowed]) else {
                    throw ModelError.invalidInput("\(at): not valid JSON")
                }
                if let s = obj as? String { out.append(s) }
                else if let d = obj as? [String: Any], let s = d["prompt"] as? String { out.append(s) }
                else { throw ModelError.invalidInput("\(at): expected a JSON string or an object with a \"prompt\" string") }
                if out.last!.isEmpty { throw ModelError.invalidInput("\(at): empty prompt") }
            }
            if out.isEmpty { throw ModelError.invalidInput("\(f): no prompts") }
            return out
        default:
            throw ValidationError("give exactly one of --prompt and --prompts-file")
        }
    }
}
