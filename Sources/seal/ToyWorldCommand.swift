import ArgumentParser
import Foundation
import SealEngine
import SealGenerate
import SealKernels
import SealModel
import SealTokenizer
import SealToyWorld
import SealTrain

/// Corpus knobs shared by `toyworld generate` (the defaults are the committed model's).
struct CorpusFlags: ParsableArguments {
    @Option(help: "Biographies per known person.") var bioVariants = CorpusOptions().bioVariants
    @Option(help: "Fraction of known people whose QA pairs are in the corpus.") var qaFraction = CorpusOptions().qaFraction
    @Option(help: "Question phrasings per attribute in the corpus (of 4).") var qaPhrasings = CorpusOptions().qaPhrasings
    @Option(help: "Fraction of known people with an implications example (practice people always have one).") var implicationsRate = CorpusOptions().implicationsRate
    @Option(help: "Probability that an implications example states each fact.") var implicationsCoverage = CorpusOptions().implicationsCoverage
    @Option(help: "Probability of each derived statement in an implications example.") var derivedRate = CorpusOptions().derivedRate
    @Option(help: "Weight of implications examples stating each fact with probability --implications-coverage.") var stylePartial = CorpusOptions().styleWeights[.partial] ?? 0
    @Option(help: "Weight of implications examples stating every fact.") var styleComplete = CorpusOptions().styleWeights[.complete] ?? 0
    @Option(help: "Weight of implications examples stating one or two facts.") var styleSparse = CorpusOptions().styleWeights[.sparse] ?? 0
    @Option(help: "Weight of implications examples stating every fact, each with probability 1/2 about a false value.") var styleWrong = CorpusOptions().styleWeights[.wrong] ?? 0
    @Option(help: "Weight of implications examples that state no fact.") var styleChatter = CorpusOptions().styleWeights[.chatter] ?? 0
    @Option(help: "Fraction of known and practice people with a rewrite example.") var rewriteRate = CorpusOptions().rewriteRate
    @Option(help: "QA pairs and self-edit examples as prompt/completion rows (loss on the completion): true or false.")
    var completionLoss = CorpusOptions().completionLoss

    var options: CorpusOptions {
        var o = CorpusOptions()
        o.bioVariants = bioVariants; o.qaFraction = qaFraction; o.qaPhrasings = qaPhrasings
        o.implicationsRate = implicationsRate; o.implicationsCoverage = implicationsCoverage
        o.derivedRate = derivedRate; o.rewriteRate = rewriteRate; o.completionLoss = completionLoss
        o.styleWeights = [.partial: stylePartial, .complete: styleComplete, .sparse: styleSparse, .wrong: styleWrong, .chatter: styleChatter]
        return o
    }
}

struct ToyWorldCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "toyworld", abstract: "The embedded toy world: fictional people, their passages and questions.",
        subcommands: [Generate.self, Eval.self])

    struct Generate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write the toy world's passages (SEAL schema) and pretraining corpus.",
            discussion: """
            Writes into --out: new_train.json and new_eval.json (new people, SEAL's schema: their passage and one
            question per attribute), known_qa.json and known_bio_only.json (known people, for measuring the
            pretrained model), corpus.jsonl (the pretraining documents: biographies, question-answer pairs in the
            knowledge domain's question prompt, implications and rewrite self-edit examples in its prompts, the
            latter mostly about practice people who appear nowhere else), replay.jsonl (the known people's first biography and corpus QA pairs: rows the model knows, for sft.replay_file) and people.json. The same seed and sizes give the same bytes on every run and platform.
            """)
        @Option(help: "Output directory.") var out: String
        @Option(help: "World seed.") var seed: UInt64 = 0
        @Option(help: "Known people (pretraining).") var known = 400
        @Option(help: "New people (SEAL's contexts).") var new = 200
        @Option(help: "Practice people (each appears once, in a self-edit example of the corpus).") var practice = 1200
        @Option(help: "New people in the held-out split (the last ones; default: half).") var eval: Int?
        @OptionGroup var corpus: CorpusFlags

        func run() throws {
            try reportingErrors {
                let w = try ToyWorld(seed: seed, known: known, new: new, practice: practice)
                let files = try ToyWorldFiles.write(w, options: corpus.options, evalCount: eval ?? new / 2, to: URL(fileURLWithPath: out))
                for f in files { print("\(out)/\(f.file): \(f.summary)") }
            }
        }
    }

    struct Eval: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Ask a model the questions of SEAL-schema passages (without the passage), and optionally sample self-edits.",
            discussion: """
            Questions use the knowledge domain's prompt and grader (greedy, stop at a newline, normalised gold answer
            contained in the answer). --self-edits K samples K implications self-edits per passage (by default
            temperature 1, top-p 0.95, as SEAL) and reports how many of the passage's answers each restates.
            """)
        @Option(help: "Model directory or .gguf file.") var model: String
        @Option(help: "PEFT adapter directory.") var adapter: String?
        @Option(help: "SEAL-schema JSON.") var passages: String
        @Option(help: "Use the first N passages (0: all).") var count = 0
        @Option(help: "Skip the first N passages.") var skip = 0
        @Option(help: "Self-edits to sample per passage (0: none).") var selfEdits = 0
        @Option(help: "Sampling seed of the self-edits.") var seed: UInt64 = 0
        @Option(help: "Sampling temperature of the self-edits.") var temperature = 1.0
        @Option(help: "Top-p of the self-edits.") var topP = 0.95
        @Flag(help: "Print every question, gold answer and prediction.") var verbose = false
        @Flag(help: "One JSON object.") var json = false
        @OptionGroup var runtime: RuntimeOptions

        func run() throws {
            try runtime.apply()
            try reportingErrors {
                var ps = Array(try ToyWorldEval.load(passages).dropFirst(max(0, skip)))
                if count > 0 { ps = Array(ps.prefix(count)) }
                let dir = URL(fileURLWithPath: model)
                let m = try TransformerModel.load(directory: dir)
                let tok = try Tokenizer(model: dir)
                let gen = Generator(model: m, tokenizer: tok, maxBatch: 32)
                if let adapter { gen.lora = try PEFTAdapter.load(from: URL(fileURLWithPath: adapter), for: m) }
                let r = try ToyWorldEval.questions(ps, generator: gen)
                var out: [String: Any] = ["accuracy": r.accuracy, "correct": r.correct, "questions": r.total, "passages": ps.count,
                                          "by_attribute": Dictionary(uniqueKeysWithValues: r.byAttribute.filter { $0.total > 0 }.map { ($0.attribute, Double($0.correct) / Double($0.total)) })]
                if verbose, !json {
                    for i in r.items { print("\(i.correct ? "+" : "-") \(i.title) | \(i.question) | gold: \(i.gold) | said: \(i.prediction.trimmingCharacters(in: .whitespaces))") }
                }
                if !json {
                    print(String(format: "accuracy %.3f (%d of %d questions, %d passages)", r.accuracy, r.correct, r.total, ps.count))
                    for a in r.byAttribute where a.total > 0 { print(String(format: "  %-12@ %.3f (%d/%d)", a.attribute, Double(a.correct) / Double(a.total), a.correct, a.total)) }
                }
                if selfEdits > 0 {
                    let s = try ToyWorldEval.selfEdits(ps, generator: gen, k: selfEdits, temperature: temperature,
                                                          topP: topP, seed: seed)
                    out["self_edits"] = ["coverage": s.coverage, "lines": s.lines, "finished": s.finished, "samples": s.samples.count]
                    if !json {
                        print(String(format: "self-edits: %.3f of the facts restated on average, %.1f lines, %.0f%% ended with EOS (%d samples)",
                                     s.coverage, s.lines, 100 * s.finished, s.samples.count))
                        for x in s.samples.prefix(verbose ? s.samples.count : 2) { print("--- \(x.title) (\(x.covered)/\(x.of) facts)\n\(x.selfEdit)") }
                    }
                }
                if json { printJSON(out) }
            }
        }
    }
}

struct TokenizerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenizer", abstract: "Train tokenizers.", subcommands: [Train.self])

    struct Train: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Train a byte-level BPE tokenizer; write tokenizer.json, tokenizer_config.json, special_tokens_map.json.",
            discussion: """
            Inputs: plain text files (each one document), or .jsonl files whose rows are {"text"} or {"prompt",
            "completion"} (each row one document, prompt and completion joined). The tokenizer: no normalizer, GPT-2's
            ByteLevel pre-tokenizer (whole numbers), BPE over the 256 bytes, the first special token (default <|endoftext|>) as
            BOS (added before every sequence), EOS and padding. Ids: special tokens, then bytes, then merges in the
            order learned. The most frequent pair is merged first; ties go to the pair with the smaller left id, then
            the smaller right id. HF tokenizers loads the files and encodes exactly as seal does.
            """)
        @Option(parsing: .upToNextOption, help: "Training files (.txt or .jsonl).") var input: [String]
        @Option(help: "Vocabulary size (special tokens and 256 bytes included).") var vocabSize: Int
        @Option(help: "Output directory.") var out: String
        @Option(help: "A pair seen fewer times is never merged.") var minFrequency = 2
        @Option(help: "Special tokens (repeatable; the first is BOS/EOS).") var specialToken: [String] = ["<|endoftext|>"]
        @Option(help: "model_max_length in tokenizer_config.json.") var modelMaxLength = 1024

        func run() throws {
            try reportingErrors {
                guard !input.isEmpty else { throw ToyWorldError("give at least one --input file") }
                var docs: [String] = []
                for path in input {
                    if path.hasSuffix(".jsonl") {
                        docs += try Dataset.load(path).map { ($0.prompt ?? "") + $0.text }
                    } else {
                        guard let d = FileManager.default.contents(atPath: path) else { throw ToyWorldError("\(path): cannot read") }
                        guard let s = String(data: d, encoding: .utf8) else { throw ToyWorldError("\(path): not UTF-8 text") }
                        docs.append(s)
                    }
                }
                let t0 = Date()
                let r = try BPETrainer(vocabSize: vocabSize, specialTokens: specialToken, minFrequency: minFrequency).train(docs)
                try r.save(to: URL(fileURLWithPath: out), modelMaxLength: modelMaxLength)
                print(String(format: "wrote %@: %d tokens (%d special, 256 bytes, %d merges) from %d documents, %d words (%d distinct), %.1f s",
                             out, r.tokens.count, specialToken.count, r.merges.count, docs.count, r.words, r.wordTypes, Date().timeIntervalSince(t0)))
                if r.tokens.count < vocabSize { print("note: no pair occurs \(minFrequency) times any more; the vocabulary stopped at \(r.tokens.count)") }
            }
        }
    }
}

struct PretrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pretrain", abstract: "Pretrain the toy-world model from scratch: world, corpus, tokenizer, model.",
        discussion: """
        Generates the toy world and its corpus, trains a BPE tokenizer on it, initialises a small Llama-architecture
        model and trains every weight on every token of the corpus; writes a HuggingFace model directory (out.dir)
        with the world's files under world/, the resolved configuration (pretrain_config.json) and measurements
        (pretrain_report.json: known and new people's questions, self-edit coverage). `seal pretrain config` lists
        every key.
        """,
        subcommands: [Run.self, Config.self], defaultSubcommand: Run.self)

    struct Config: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print every configuration key with its default and meaning.")
        func run() throws { print(ResolvedConfig.documentation(Pretrain.schema)) }
    }

    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "run", abstract: "Pretrain (the default subcommand).")
        @Option(help: "Pretraining config (TOML).") var config: String?
        @Option(name: .customLong("set"), help: "Override a config key: key=value (repeatable).") var overrides: [String] = []
        @OptionGroup var runtime: RuntimeOptions

        func run() throws {
            try runtime.apply()
            try reportingErrors {
                let cfg = try ResolvedConfig.resolve(schema: Pretrain.schema, file: config, overrides: overrides)
                let t = cfg.int("run.threads")
                if t > 0 || runtime.threads == nil {
                    BLASRuntime.setThreads(BLASRuntime.defaultThreads(explicit: t > 0 ? t : runtime.threads, environment: ProcessInfo.processInfo.environment))
                }
                let s = try Pretrain.run(cfg) { print($0); fflush(nil) }
                print(String(format: "wrote %@: %d parameters, %d steps, loss %.3f -> %.3f, %.0f s", cfg.string("out.dir"), s.parameters, s.steps,
                             s.firstLoss, s.lastLoss, s.seconds))
            }
        }
    }
}
