import ArgumentParser
import Foundation
import SealARC
import SealEngine
import SealGenerate
import SealKernels
import SealRuntime
import SealTokenizer

struct ARCCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "arc", abstract: "Few-shot ARC: the model configures its own test-time training (ReSTEM on ARC tasks).",
        subcommands: [Train.self, Eval.self, Augment.self, Prompts.self, TTTData.self, Sample.self, Config.self])

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

    struct Sample: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Sample the policy's self-edits for a split exactly as a run does, and measure how many are usable.",
            discussion: "One process (no MPI). Prints one JSON line per self-edit ({\"id\", \"sample\", \"status\", \"text\", \"tokens\"}: status ok, or invalid: <reason>, the reason a run would record), then a summary line ({\"summary\": ...}): the fraction that parse, the fraction usable (parse and within arc.budget), seconds per self-edit, and with arc.constrained_decoding the seconds to build the token index and the cost of one constrained step against a free one (the same logits row: the vocabulary's width, random values). Compare --set arc.constrained_decoding=false and =true.")
        @Option(help: "Experiment config (TOML).") var config: String
        @Option(name: .customLong("set"), help: "Override a config key: key=value (repeatable).") var overrides: [String] = []
        @Option(help: "train or eval.") var split = "train"
        @Option(help: "Self-edits per task (default: sampling.samples).") var samples: Int?
        @Option(help: "Sampling round (the seed stream: round r of a run samples with round r).") var round = 0
        @Flag(help: "Only the summary line.") var summaryOnly = false

        func run() throws {
            guard split == "train" || split == "eval" else { throw ValidationError("--split must be train or eval") }
            if let samples, samples < 1 { throw ValidationError("--samples must be ≥ 1") }
            try reportingErrors {
                let cfg = try ResolvedConfig.resolve(schema: ARCCommand.schema, file: config, overrides: overrides)
                let t = cfg.int("run.threads")
                BLASRuntime.setThreads(BLASRuntime.defaultThreads(explicit: t > 0 ? t : nil, environment: ProcessInfo.processInfo.environment))
                let t0 = KernelStats.now()
                let domain = try ARCDomain(config: cfg)
                let setup = KernelStats.now() - t0
                let engine = try ReSTEMEngine(domain: domain, config: cfg, mpi: try MPIRuntime())
                let ids = try domain.contexts(split: split).map(\.id)
                let t1 = KernelStats.now()
                let edits = try engine.sampleSelfEdits(ids, round: round, samples: samples)
                let seconds = KernelStats.now() - t1
                var total = 0, parsed = 0, usable = 0, tokens = 0
                for id in ids {
                    for (k, text) in (edits[id] ?? []).enumerated() {
                        total += 1
                        let n = domain.tokenizer.encode(text, addSpecialTokens: false).count
                        tokens += n
                        var status = "ok"
                        do {
                            _ = try ARCSelfEdit.parse(text)
                            parsed += 1
                            _ = try domain.innerLoopPlan(contextID: id, selfEdit: text)
                            usable += 1
                        } catch let e as InvalidSelfEdit { status = SampleStatus.invalid(e.reason).description }
                        if !summaryOnly { printJSON(["id": id, "sample": k, "status": status, "text": text, "tokens": n]) }
                    }
                }
                var summary: [String: Any] = [
                    "self_edits": total, "parsed": parsed, "usable": usable,
                    "parsed_fraction": Double(parsed) / Double(max(1, total)), "usable_fraction": Double(usable) / Double(max(1, total)),
                    "seconds_sampling": seconds, "seconds_per_self_edit": seconds / Double(max(1, total)),
                    "mean_tokens": Double(tokens) / Double(max(1, total)), "constrained": domain.constraint != nil,
                    "seconds_domain_setup": setup, "threads": BLASRuntime.threads, "vocab": domain.tokenizer.vocabSize,
                ]
                if let c = domain.constraint {
                    let step = Self.stepCost(c, texts: ids.flatMap { edits[$0] ?? [] }, tokenizer: domain.tokenizer, vocab: engine.policy.model.config.vocabSize,
                                             temperature: cfg.double("sampling.temperature"), topP: cfg.double("sampling.top_p"))
                    let tb = KernelStats.now()
                    _ = try ARCSelfEditGrammar.constraint(for: domain.tokenizer)  // timed again on its own
                    summary["seconds_index_build"] = KernelStats.now() - tb
                    summary["constraint_states"] = c.dfa.stateCount
                    summary["constraint_edges"] = c.edgeCount
                    summary["fewest_tokens"] = c.fewestTokens
                    summary["us_per_step_free"] = step.free * 1e6
                    summary["us_per_step_constrained"] = step.constrained * 1e6
                    summary["us_per_step_automaton"] = step.automaton * 1e6
                    summary["mean_allowed_tokens"] = step.allowed
                    summary["steps_timed"] = step.steps
                }
                printJSON(["summary": summary])
            }
        }

        /// Seconds of one sampling step, free (the sampler over the full row) and constrained (allowed tokens, the
        /// packed draw, the state's advance; `automaton`: the allowed tokens and the advance alone), replaying the sampled self-edits' tokens on one random logits row of
        /// the vocabulary's width (the model's forward pass, the same in both, is left out).
        static func stepCost(_ c: RegularConstraint, texts: [String], tokenizer: Tokenizer, vocab: Int,
                             temperature: Double, topP: Double) -> (free: Double, constrained: Double, automaton: Double, allowed: Double, steps: Int) {
            var logits = [Float](repeating: 0, count: vocab)
            var rng: UInt64 = 0x9E37_79B9_7F4A_7C15
            for i in 0..<vocab { rng = rng &* 6364136223846793005 &+ 1442695040888963407; logits[i] = Float(rng >> 40) / Float(1 << 24) * 8 - 4 }
            let params = SamplingParams(temperature: temperature, topP: topP)
            var sampler = Sampler()
            var allowed: [Int32] = []
            allowed.reserveCapacity(4096)
            var free = 0.0, constrained = 0.0, automaton = 0.0, steps = 0, allowedTotal = 0
            var sink = 0
            for text in texts {
                var state = c.initialState
                var path: [Int] = []
                for id in tokenizer.encode(text, addSpecialTokens: false) {
                    // Replay only the tokens the constraint allows (a free text's tokenization may differ).
                    allowed.removeAll(keepingCapacity: true)
                    c.allowedTokens(state, remaining: 1 << 20, into: &allowed)
                    guard allowed.contains(Int32(id)) else { break }
                    path.append(id)
                    state = c.advance(state, token: id)
                }
                state = c.initialState
                for (k, id) in path.enumerated() {
                    let u = (Double(k) + 0.5) / Double(path.count)
                    var t0 = KernelStats.now()
                    sink &+= sampler.sample(logits: logits[...], params: params, uniform: u).token
                    free += KernelStats.now() - t0
                    t0 = KernelStats.now()
                    allowed.removeAll(keepingCapacity: true)
                    c.allowedTokens(state, remaining: 1 << 20, into: &allowed)
                    state = c.advance(state, token: id)
                    let t1 = KernelStats.now()
                    sink &+= sampler.sample(logits: logits[...], params: params, uniform: u, among: allowed).token
                    let t2 = KernelStats.now()
                    automaton += t1 - t0
                    constrained += t2 - t0
                    allowedTotal += allowed.count
                    steps += 1
                }
            }
            if sink == 42 { print("") }  // keep the timed work
            let n = Double(max(1, steps))
            return (free / n, constrained / n, automaton / n, Double(allowedTotal) / n, steps)
        }
    }

    /// MPI, config, domain and engine set-up shared by train and eval (as `seal knowledge`).
    static func launch(_ options: ExperimentOptions, _ body: (ReSTEMEngine) throws -> Void) throws {
        try launchExperiment(options, schema: ARCCommand.schema, domain: { try ARCDomain(config: $0) }, body)
    }
}
