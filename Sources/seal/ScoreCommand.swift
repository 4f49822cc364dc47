import ArgumentParser
import Foundation
import SealKernels
import SealGenerate
import SealModel
import SealTokenizer
import SealTrain

/// Reads a text argument or file, naming the file when it cannot be read.
func readText(text: String?, file: String?) throws -> String {
    switch (text, file) {
    case (let t?, nil): return t
    case (nil, let f?):
        guard let data = FileManager.default.contents(atPath: f) else {
            throw ModelError.fileMissing(path: f)
        }
        return try TextInput.decode(data, path: f)
    default: throw ValidationError("give exactly one of --text and --text-file")
    }
}

struct ScoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "score",
        abstract: "Negative log-likelihood of every token of a text under a model.",
        discussion: "The text is tokenized as HF's tokenizer(text) does (special tokens recognised, BOS added where the tokenizer adds it); token t ≥ 1 is scored given tokens 0..t-1, in nats.")
    @Option(help: "Model directory or .gguf file.") var model: String
    @Option(help: "File with the text to score.") var textFile: String
    @Option(help: "PEFT adapter applied on top of the model.") var adapter: String?
    @Flag(help: "Print one JSON object.") var json = false
    @OptionGroup var runtime: RuntimeOptions

    func run() throws {
        try runtime.apply()
        try reportingErrors {
            let dir = URL(fileURLWithPath: model)
            let m = try TransformerModel.load(directory: dir)
            let tok = try Tokenizer(model: dir)
            let text = try readText(text: nil, file: textFile)
            let ids = tok.encode(text)
            let lora = try adapter.map { try PEFTAdapter.load(from: URL(fileURLWithPath: $0), for: m) }
            let nll = try m.tokenNLL(ids.map(Int32.init), lora: lora)
            let mean = nll.isEmpty ? 0 : nll.reduce(0, +) / Double(nll.count)
            if json {
                printJSON(["token_ids": ids, "token_nll": nll, "mean_nll": mean, "tokens": ids.count])
            } else {
                print("tokens \(ids.count), scored \(nll.count), mean NLL \(String(format: "%.6f", mean)) nats, perplexity \(String(format: "%.4f", exp(mean)))")
            }
        }
    }
}

struct TokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tokenize", abstract: "Text → token ids, as HF's tokenizer(text).")
    @Option(help: "Model (or tokenizer) directory holding tokenizer.json, or a .gguf file.") var model: String
    @Option(help: "The text.") var text: String?
    @Option(help: "File with the text.") var textFile: String?
    @Flag(help: "Print {\"ids\": [...]}.") var json = false
    @Flag(help: "Do not add BOS/post-processor tokens.") var noSpecialTokens = false

    func run() throws {
        try reportingErrors {
            let tok = try Tokenizer(model: URL(fileURLWithPath: model))
            let ids = tok.encode(try readText(text: text, file: textFile), addSpecialTokens: !noSpecialTokens)
            if json { printJSON(["ids": ids]) } else { print(ids.map(String.init).joined(separator: " ")) }
        }
    }
}

struct DetokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "detokenize", abstract: "Token ids → text, as HF's tokenizer.decode(ids).")
    @Option(help: "Model (or tokenizer) directory holding tokenizer.json, or a .gguf file.") var model: String
    @Option(help: "Ids separated by spaces or commas, or a JSON list.") var ids: String
    @Flag(help: "Drop special tokens.") var skipSpecialTokens = false
    @Flag(help: "Print {\"text\": ...}.") var json = false

    func run() throws {
        try reportingErrors {
            let tok = try Tokenizer(model: URL(fileURLWithPath: model))
            var list: [Int] = []
            for part in ids.split(whereSeparator: { " ,[]\n\t".contains($0) }) {
                guard let v = Int(part), v >= 0, v < tok.vocabSize else {
                    throw ModelError.invalidInput("--ids: '\(part)' is not a token id of this tokenizer (0..<\(tok.vocabSize))")
                }
                list.append(v)
            }
            let text = tok.decode(list, skipSpecialTokens: skipSpecialTokens)
            if json { printJSON(["text": text]) } else { print(text) }
        }
    }
}
