import ArgumentParser
import Foundation
import SealARC
import SealEngine
import SealKernels
import SealRuntime

struct ARCCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "arc", abstract: "Few-shot ARC: the model configures its own test-time training (ReSTEM on ARC tasks).",
        subcommands: [Train.self, Eval.self, Augment.self, Prompts.self, TTTData.self, Config.self])

    static var schema: [ConfigKey] { EngineConfig.schema + ARCDomain.schema }

    struct Config: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print every configuration key with its default and meaning.")
        func run() throws { print(ResolvedConfig.documentation(ARCCommand.schema)) }
    }

    struct Train: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Run ReSTEM rounds on the training tasks (under mpirun: SPMD over ranks).")
        @OptionGroup var options: ExperimentOptions
        func run() throws { try ARCCommand.launch(options) { try $0.runExperiment(out: options.out, overwrite: options.overwrite) } }
    }

    struct Eval: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Evaluate the configured arms (eval.arms) on the evaluation tasks.",
            discussion: "Arms: base = ICL (no test-time training); context = Oracle TTT (arc.oracle); self_edit = TTT with the policy's own self-edits.")
        @OptionGroup var options: ExperimentOptions
        func run() throws { try ARCCommand.launch(options) { try $0.evaluateArms(out: options.out, overwrite: options.overwrite) } }
    }

    struct Augment: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a task after one augmentation, in the per-task layout.",
            discussion: "Names: " + Augmentation.names.joined(separator: ", ") + ", shuffle_examples. "
                + "translate, permute_colors and shuffle_examples take their parameters from --seed (SplitMix64; see Sources/SealARC/Augment.swift).")
        @Option(help: "Task file: per-task JSON, or a Kaggle challenges file with --id.") var task: String
        @Option(help: "Task id within a Kaggle challenges file.") var id: String?
        @Option(help: "Kaggle solutions file (adds the test outputs).") var solutions: String?
        @Option(help: "Augmentation name.") var augmentation: String
        @Option(help: "Seed of translate / permute_colors / shuffle_examples.") var seed: UInt64 = 0
        @Flag(help: "One line of JSON instead of the numpy-print text.") var json = false

        func run() throws {
            let shuffle = augmentation == "shuffle_examples"
            let aug = Augmentation.named(augmentation, seed: seed)
            if !shuffle && aug == nil {
                throw ValidationError("unknown augmentation '\(augmentation)' (one of: \(Augmentation.names.joined(separator: ", ")), shuffle_examples)")
            }
            try reportingErrors {
                let tasks = try ARCData.load(task, solutions: solutions)
                let t: ARCTask
                if let id {
                    guard let found = tasks.first(where: { $0.id == id }) else { throw ARCDataError("\(task): no task \(id)") }
                    t = found
                } else {
                    guard tasks.count == 1 else { throw ARCDataError("\(task) holds \(tasks.count) tasks: choose one with --id") }
                    t = tasks[0]
                }
                let out: ARCTask
                if shuffle {
                    out = shuffleExamples(t, seed: seed)
                } else if let a = aug {
                    guard let r = a.apply(to: t) else {
                        throw ARCDataError("\(task): task \(t.id): \(augmentation) makes a grid larger than 30 × 30 (SEAL drops such tasks)")
                    }
                    out = r
                } else {
                    out = t
                }
                if json {
                    printJSON(out.jsonObject)
                } else {
                    for (k, p) in out.train.enumerated() {
                        print("train \(k) input:\n\(GridFormat.numpy.render(p.input))\ntrain \(k) output:\n\(GridFormat.numpy.render(p.output))")
                    }
                    for (k, p) in out.test.enumerated() {
                        print("test \(k) input:\n\(GridFormat.numpy.render(p.input))")
                        if let o = p.output { print("test \(k) output:\n\(GridFormat.numpy.render(o))") }
                    }
                }
            }
        }
    }

    struct Prompts: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the self-edit prompts of a split as JSONL ({\"id\", \"prompt\"[, \"completion\"]}), exactly as the policy sees them.",
            discussion: "With --completion, each row also gets that completion (plus the chat format's end-of-turn marker): rows `seal finetune` can train on, e.g. to warm-start a policy on a fixed self-edit.")
        @Option(help: "Experiment config (TOML).") var config: String
        @Option(name: .customLong("set"), help: "Override a config key: key=value (repeatable).") var overrides: [String] = []
        @Option(help: "train or eval.") var split = "train"
        @Option(help: "A completion to pair with every prompt.") var completion: String?

        func run() throws {
            try reportingErrors {
                guard split == "train" || split == "eval" else { throw ValidationError("--split must be train or eval") }
                let cfg = try ResolvedConfig.resolve(schema: ARCCommand.schema, file: config, overrides: overrides)
                let domain = try ARCDomain(config: cfg)
                for c in try domain.contexts(split: split) {
                    var row: [String: Any] = ["id": c.id, "prompt": try domain.selfEditPrompt(contextID: c.id)]
                    if let completion { row["completion"] = try domain.reinforcementPair(contextID: c.id, selfEdit: completion).text }
                    printJSON(row)
                }
            }
        }
    }

    struct TTTData: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "data",
            abstract: "Print the TTT rows a self-edit gives a task as JSONL ({\"prompt\", \"completion\", \"tokens\"}); a summary goes to stderr.",
            discussion: "The rows are the inner loop's training data, as `seal finetune` reads them (its --loss-on completion is SEAL's train_using_output_tokens). Without --self-edit, the Oracle TTT configuration (arc.oracle) is used. The budget rule is not applied.")
        @Option(help: "Experiment config (TOML).") var config: String
        @Option(name: .customLong("set"), help: "Override a config key: key=value (repeatable).") var overrides: [String] = []
        @Option(help: "Task id (from arc.train_file or arc.eval_file).") var task: String
        @Option(help: "A self-edit (JSON text).") var selfEdit: String?

        func run() throws {
            try reportingErrors {
                let cfg = try ResolvedConfig.resolve(schema: ARCCommand.schema, file: config, overrides: overrides)
                let domain = try ARCDomain(config: cfg)
                let t = try domain.task(task)
                let edit: ARCSelfEdit
                do { edit = try ARCSelfEdit.parse(selfEdit ?? cfg.string("arc.oracle")) } catch let e as InvalidSelfEdit {
                    throw ValidationError("--self-edit is not usable: \(e.reason)")
                }
                let plan = try domain.plan(t, edit, checkBudget: false)
                var lengths: [Int] = []
                for r in plan.rows {
                    let n = domain.tokenizer.encode(r.prompt ?? "").count + domain.tokenizer.encode(r.text, addSpecialTokens: false).count
                    lengths.append(n)
                    printJSON(["prompt": r.prompt ?? "", "completion": r.text, "tokens": n])
                }
                let total = lengths.reduce(0, +)
                let summary = "\(task): \(lengths.count) rows, \(total) tokens (mean \(total / max(1, lengths.count)), max \(lengths.max() ?? 0)); "
                    + "loss on \(plan.lossOn == .all ? "all tokens" : "outputs"), lr \(edit.learningRate), \(edit.epochs) epochs"
                    + (edit.overBudget(examples: lengths.count, budget: cfg.int("arc.budget")).map { "; \($0)" } ?? "")
                FileHandle.standardError.write(Data((summary + "\n").utf8))
            }
        }
    }

    /// MPI, config, domain and engine set-up shared by train and eval (as `seal knowledge`).
    static func launch(_ options: ExperimentOptions, _ body: (ReSTEMEngine) throws -> Void) throws {
        try launchExperiment(options, schema: ARCCommand.schema, domain: { try ARCDomain(config: $0) }, body)
    }
}
