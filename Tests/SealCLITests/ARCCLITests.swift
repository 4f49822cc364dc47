import Foundation
import XCTest
import SealARC

/// `seal arc` as a user runs it: augment's output, errors, and every arm end to end under mpirun on a tiny
/// random Llama with Llama-3's tokenizer (so the real chat format). A random model writes no JSON, so the policy
/// is first warm-started (`seal arc prompts --completion` + `seal finetune`) to write one fixed self-edit: then
/// self-edits parse, TTT inner loops run, rewards are recorded, ReSTEM keeps them (threshold below 0) and the
/// policy update runs. Such a model solves nothing; the test checks the mechanics and the records.
final class ARCCLITests: XCTestCase {
    let cli = CLIHarness()
    static let data = CLIHarness.shared.appendingPathComponent("data/seal-reference/few-shot/data")
    static func arc(_ f: String) -> String { data.appendingPathComponent(f).path }

    func testAugmentPrintsTheTaskAndErrorsNameTheInput() throws {
        let r = try cli.seal(["arc", "augment", "--task", Self.arc("arc-agi_training_challenges.json"), "--id", "8d5021e8",
                              "--solutions", Self.arc("arc-agi_training_solutions.json"), "--augmentation", "chain_rotate_90", "--json"])
        XCTAssertEqual(r.status, 0, r.err)
        let got = try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as! NSDictionary
        let task = try ARCData.load(Self.arc("arc-agi_training_challenges.json"), solutions: Self.arc("arc-agi_training_solutions.json")).first { $0.id == "8d5021e8" }!
        let expected = Augmentation.named("chain_rotate_90")!.apply(to: task)!.jsonObject as NSDictionary
        XCTAssertEqual(got, expected)
        XCTAssertNotNil((got["test"] as! [[String: Any]])[0]["output"], "test outputs are printed when known")
        // Text form: numpy prints.
        let t = try cli.seal(["arc", "augment", "--task", Self.arc("arc-agi_training_challenges.json"), "--id", "6150a2bd", "--augmentation", "flip_0"])
        XCTAssertEqual(t.status, 0, t.err)
        XCTAssertTrue(t.out.hasPrefix("train 0 input:\n[[5 0 0]\n [3 7 0]\n [3 3 8]]\n"), t.out)

        let dir = cli.tmp("arc-augment")
        let bad = dir.appendingPathComponent("bad.json").path
        try #"{"train": [{"input": [[1, 2], [3]], "output": [[1]]}], "test": [{"input": [[0]]}]}"#.write(toFile: bad, atomically: true, encoding: .utf8)
        let e = try cli.seal(["arc", "augment", "--task", bad, "--augmentation", "transpose"])
        XCTAssertEqual(e.status, 1)
        XCTAssertFalse(e.crashed)
        XCTAssertTrue(e.err.contains("\(bad): task bad: train[0].input: the grid is not rectangular"), e.err)
        let big = try cli.seal(["arc", "augment", "--task", Self.arc("arc-agi_training_challenges.json"), "--id", "4be741c5", "--augmentation", "repeat_2_2"])
        XCTAssertEqual(big.status, 1)
        XCTAssertTrue(big.err.contains("task 4be741c5: repeat_2_2 makes a grid larger than 30 × 30"), big.err)
        let unknown = try cli.seal(["arc", "augment", "--task", bad, "--augmentation", "rotate_45"])
        XCTAssertNotEqual(unknown.status, 0)
        XCTAssertFalse(unknown.crashed)
        XCTAssertTrue(unknown.err.contains("unknown augmentation 'rotate_45'"), unknown.err)
    }

    func h5(_ script: String, _ path: String) throws -> [String: Any] {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        p.arguments = ["-c", "import h5py, json, sys\nf = h5py.File(sys.argv[1], 'r')\n" + script, path]
        let o = Pipe(), e = Pipe()
        p.standardOutput = o; p.standardError = e
        try p.run()
        let out = o.fileHandleForReading.readDataToEndOfFile(), err = e.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, String(decoding: err, as: UTF8.self))
        return (try? JSONSerialization.jsonObject(with: out) as? [String: Any]) ?? [:]
    }

    static let readRun = """
    def s(x): return x.decode() if isinstance(x, bytes) else x
    out = {'status': s(f.attrs['status']), 'rounds': {}, 'evals': {}}
    for r in f.get('rounds', {}):
        g = f['rounds'][r]['samples']
        out['rounds'][r] = {k: [s(v) for v in g[k][()].tolist()] for k in ['context_id', 'sample_index', 'reward', 'adapted_score', 'inner_loss', 'tokens', 'self_edit', 'status', 'kept']}
        out['rounds'][r]['sft_loss'] = f['rounds'][r]['sft']['loss'][()].tolist()
    for a in f.get('evals', {}):
        g = f['evals'][a]
        out['evals'][a] = {k: [s(v) for v in g[k][()].tolist()] for k in ['context_id', 'question', 'gold', 'prediction', 'correct']}
        out['evals'][a]['accuracy'] = float(g.attrs['accuracy'])
    print(json.dumps(out, sort_keys=True))
    """

    func testEveryArmEndToEndUnderMPI() throws {
        let dir = cli.tmp("arc-e2e")
        // A tiny random Llama with Llama-3's tokenizer, warm-started to write one fixed self-edit.
        let shape = dir.appendingPathComponent("shape.json")
        try """
        {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 64, "intermediate_size": 128,
         "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 128256, "rms_norm_eps": 1e-05,
         "rope_theta": 500000.0, "max_position_embeddings": 4096, "tie_word_embeddings": true, "hidden_act": "silu",
         "bos_token_id": 128000, "eos_token_id": [128001, 128008, 128009]}
        """.write(to: shape, atomically: true, encoding: .utf8)
        let base = dir.appendingPathComponent("base").path, policy = dir.appendingPathComponent("policy").path
        var r = try cli.seal(["model", "init", "--config", shape.path, "--out", base, "--seed", "1",
                              "--tokenizer", CLIHarness.shared.appendingPathComponent("models/llama3-tokenizer").path])
        XCTAssertEqual(r.status, 0, r.err)
        let cfg = dir.appendingPathComponent("arc.toml").path
        try """
        [model]
        path = "\(base)"
        [run]
        seed = 5
        rounds = 1
        threads = 1
        [sampling]
        samples = 1
        temperature = 0.8
        top_p = 1.0
        max_new_tokens = 96
        [inner]
        lora_rank = 4
        lora_alpha = 8
        lora_targets = ["q_proj", "v_proj", "gate_proj", "up_proj", "down_proj"]
        batch_size = 2
        schedule = "cosine"
        max_length = 4096
        repeats = 1
        [filter]
        mode = "threshold"
        threshold = -1.0
        [sft]
        lora_rank = 4
        lora_alpha = 4
        lora_targets = ["q_proj", "v_proj"]
        lr = 5e-5
        epochs = 1
        batch = 2
        [arc]
        train_file = "\(Self.arc("arc-agi_training_challenges.json"))"
        train_solutions = "\(Self.arc("arc-agi_training_solutions.json"))"
        train_tasks = ["6150a2bd", "8be77c9e"]
        eval_file = "\(Self.arc("arc-agi_evaluation_challenges.json"))"
        eval_solutions = "\(Self.arc("arc-agi_evaluation_solutions.json"))"
        eval_tasks = ["66e6c45b", "59341089"]
        max_examples = 4
        warmup_steps = 1
        [eval]
        arms = ["base", "context"]
        """.write(toFile: cfg, atomically: true, encoding: .utf8)
        let selfEdit = ARCSelfEdit(augmentations: AugmentationSwitches(basic: true, size: false, chain: false, repeat: false),
                                   strategy: .outputTokens, learningRate: 1e-3, epochs: 1).json
        var rows = ""
        for split in ["train", "eval"] {
            r = try cli.seal(["arc", "prompts", "--config", cfg, "--split", split, "--completion", selfEdit])
            XCTAssertEqual(r.status, 0, r.err)
            rows += r.out
        }
        XCTAssertEqual(rows.split(separator: "\n").count, 4)
        XCTAssertTrue(rows.contains(#"<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n""#), "Llama-3 chat prompts")
        let warm = dir.appendingPathComponent("warm.jsonl")
        try rows.write(to: warm, atomically: true, encoding: .utf8)
        r = try cli.seal(["finetune", "--model", base, "--data", warm.path, "--out", policy, "--full", "--lr", "4e-3", "--steps", "25",
                          "--batch-size", "4", "--schedule", "constant", "--threads", "2"])
        XCTAssertEqual(r.status, 0, r.err)

        // SEAL: a ReSTEM round on the training tasks, then the trained policy's self-edits on the evaluation tasks,
        // on 2 ranks and on 1: the same records.
        var runs: [[String: Any]] = []
        for ranks in [2, 1] {
            let out = dir.appendingPathComponent("train-\(ranks).h5").path
            let m = try MPIRunner.run(ranks: ranks, ["arc", "train", "--config", cfg, "--out", out, "--set", "model.path=\(policy)"], timeout: 300)
            XCTAssertFalse(m.timedOut, m.err)
            XCTAssertEqual(m.status, 0, m.err)
            runs.append(try h5(Self.readRun, out))
        }
        let run = runs[0]
        XCTAssertEqual(run["status"] as? String, "finished")
        let round = (run["rounds"] as! [String: Any])["round_000"] as! [String: Any]
        XCTAssertEqual(round["context_id"] as! [String], ["6150a2bd", "8be77c9e"])
        XCTAssertEqual(round["status"] as! [String], ["ok", "ok"], "the warm-started policy writes parseable self-edits")
        XCTAssertTrue((round["reward"] as! [Double]).allSatisfy { $0 == 0 || $0 == 1 })
        XCTAssertTrue((round["inner_loss"] as! [Double]).allSatisfy { $0.isFinite && $0 > 0 })
        XCTAssertTrue((round["tokens"] as! [Int]).allSatisfy { $0 > 0 })
        XCTAssertEqual(round["kept"] as! [Int], [1, 1])
        XCTAssertFalse((round["sft_loss"] as! [Double]).isEmpty, "the policy update ran")
        let sealArm = (run["evals"] as! [String: Any])["seal_round_1"] as! [String: Any]
        XCTAssertEqual(sealArm["context_id"] as! [String], ["59341089", "66e6c45b"])
        // Each self-edit's record: the answers of the adapted model, or (an unusable self-edit, which trains
        // nothing) of the policy itself, prefixed with the reason.
        for p in sealArm["prediction"] as! [String] { XCTAssertTrue(p.contains("test 0: ") && p.contains(" of 6 answers parsed"), p) }
        // Gold answers as numpy prints them (from the evaluation solutions file).
        XCTAssertEqual((sealArm["gold"] as! [String])[0], "[[7 5 8 8 5 7 7 5 8 8 5 7]\n [5 7 5 5 7 5 5 7 5 5 7 5]\n [5 8 8 8 8 5 5 8 8 8 8 5]]")
        XCTAssertEqual(NSDictionary(dictionary: runs[0]["rounds"] as! [String: Any]), NSDictionary(dictionary: runs[1]["rounds"] as! [String: Any]),
                       "per-sample records do not depend on the rank count")
        XCTAssertEqual(NSDictionary(dictionary: runs[0]["evals"] as! [String: Any]), NSDictionary(dictionary: runs[1]["evals"] as! [String: Any]))

        // ICL (base), Oracle TTT (context) and TTT with the untrained policy's self-edits (self_edit) on the
        // evaluation tasks.
        let evalOut = dir.appendingPathComponent("eval.h5").path
        let m = try MPIRunner.run(ranks: 2, ["arc", "eval", "--config", cfg, "--out", evalOut, "--set", "model.path=\(policy)",
                                             "--set", #"eval.arms=["base", "context", "self_edit"]"#], timeout: 300)
        XCTAssertEqual(m.status, 0, m.err)
        let ev = try h5(Self.readRun, evalOut)["evals"] as! [String: Any]
        XCTAssertEqual(Set(ev.keys), ["base", "context", "self_edit"])
        for arm in ["base", "context", "self_edit"] {
            let a = ev[arm] as! [String: Any]
            XCTAssertEqual(a["context_id"] as! [String], ["59341089", "66e6c45b"], arm)
            XCTAssertEqual(a["question"] as! [String], ["task 59341089 (1 test input)", "task 66e6c45b (1 test input)"], arm)
            XCTAssertEqual((a["gold"] as! [String])[1], "[[2 0 0 3]\n [0 0 0 0]\n [0 0 0 0]\n [4 0 0 9]]", arm)
            for p in a["prediction"] as! [String] { XCTAssertTrue(p.hasPrefix("test 0: ") && p.contains(" of 6 answers parsed"), p) }
        }

        // One self-edit per task (sampling.samples = 1): a record per (task, self-edit); an unusable self-edit's record
        // says why, and the un-adapted policy answered.
        let selfEditArm = ev["self_edit"] as! [String: Any]
        for p in selfEditArm["prediction"] as! [String] {
            XCTAssertTrue(p.hasPrefix("test 0: ") || p.hasPrefix("[self-edit unusable: "), p)
        }

        // The same arm with constrained decoding, from the random (not warm-started) model, which on its own writes
        // no JSON: every self-edit parses and trains (4 TTT examples keep any epochs within the step budget). The
        // inner loops run on 2 ranks; the self-edits are in the run's journal.
        let constrainedOut = dir.appendingPathComponent("eval-constrained.h5").path
        let c = try MPIRunner.run(ranks: 2, ["arc", "eval", "--config", cfg, "--out", constrainedOut, "--set", "model.path=\(base)",
                                             "--set", "arc.constrained_decoding=true", "--set", #"eval.arms=["self_edit"]"#,
                                             "--set", "inner.lr=1e-3"], timeout: 300)
        XCTAssertEqual(c.status, 0, c.err)
        let cev = (try h5(Self.readRun, constrainedOut)["evals"] as! [String: Any])["self_edit"] as! [String: Any]
        XCTAssertEqual(cev["context_id"] as! [String], ["59341089", "66e6c45b"])
        for p in cev["prediction"] as! [String] { XCTAssertTrue(p.hasPrefix("test 0: ") && p.contains(" of 6 answers parsed"), "every self-edit is usable: \(p)") }
        // `seal arc sample --round 1000` samples what the eval arm sampled (its seed stream): both self-edits are in
        // the grammar's language and parse; free sampling from the same model gives none that parses.
        for constrained in [true, false] {
            let r = try cli.seal(["arc", "sample", "--config", cfg, "--split", "eval", "--round", "1000", "--set", "model.path=\(base)",
                                  "--set", "arc.constrained_decoding=\(constrained)"])
            XCTAssertEqual(r.status, 0, r.err)
            let lines = try r.out.split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
            XCTAssertEqual(lines.count, 3)
            let summary = try XCTUnwrap(lines.last?["summary"] as? [String: Any])
            XCTAssertEqual(summary["self_edits"] as? Int, 2)
            XCTAssertEqual(summary["parsed"] as? Int, constrained ? 2 : 0, "\(summary)")
            for row in lines.dropLast() {
                let text = row["text"] as! String
                XCTAssertEqual(ARCSelfEditGrammar.automaton.accepts(text), constrained, text)
                XCTAssertEqual(row["status"] as? String == "ok", constrained, "\(row)")
            }
            if constrained { XCTAssertNotNil(summary["us_per_step_automaton"]) }
        }
        // The switch names itself in errors: the budget must fit the shortest self-edit.
        let short = try cli.seal(["arc", "eval", "--config", cfg, "--set", "arc.constrained_decoding=true", "--set", "sampling.max_new_tokens=20"])
        XCTAssertEqual(short.status, 1)
        XCTAssertTrue(short.err.contains("arc.constrained_decoding") && short.err.contains("sampling.max_new_tokens = 20"), short.err)

        // Config errors name the key; the domain refuses the engine's chat wrapping.
        let bad = try cli.seal(["arc", "eval", "--config", cfg, "--set", "arc.formt=numpy"])
        XCTAssertEqual(bad.status, 1)
        XCTAssertTrue(bad.err.contains("unknown key 'arc.formt'"), bad.err)
        let chat = try cli.seal(["arc", "eval", "--config", cfg, "--set", "model.chat=true"])
        XCTAssertEqual(chat.status, 1)
        XCTAssertTrue(chat.err.contains("model.chat must be false"), chat.err)
    }

    /// ARC's keys have ranges like every other: refused at once with the key named (the model is never loaded: the
    /// path here does not exist); a task file with no task is an error naming the file (before the tokenizer is read).
    func testBadConfigValuesAndEmptyTaskLists() throws {
        let job = CLIHarness.root.appendingPathComponent("jobs/arc-tiny.toml").path
        let out = cli.tmp("arc-bad").appendingPathComponent("x.h5").path
        for (o, key) in [("arc.attempts=0", "arc.attempts"), ("arc.attempts=4", "arc.attempts"), ("arc.max_leave_out=-1", "arc.max_leave_out"),
                         ("arc.max_examples=0", "arc.max_examples"), ("arc.answer_tokens=-1", "arc.answer_tokens"), ("arc.budget=0", "arc.budget"),
                         ("arc.warmup_steps=-3", "arc.warmup_steps"), ("arc.max_tokens=1", "arc.max_tokens"), ("arc.train_count=-1", "arc.train_count"),
                         ("arc.format=\"words\"", "arc.format"), ("inner.lr=nan", "inner.lr"), ("sampling.top_p=2", "sampling.top_p"),
                         ("arc.attempts=1.5", "arc.attempts"), ("arc.data_seed=1e400", "arc.data_seed")] {
            let r = try MPIRunner.run(ranks: nil, ["arc", "train", "--config", job, "--out", out, "--set", o, "--set", "model.path=/nonexistent-model"])
            XCTAssertEqual(r.status, 1, "\(o): \(r.err)")
            XCTAssertTrue(r.err.contains("'\(key)'") && !r.err.contains("/nonexistent-model"), "\(o): \(r.err)")
        }
        let dir = cli.tmp("arc-empty")
        let empty = dir.appendingPathComponent("empty.json").path
        try "{}".write(toFile: empty, atomically: true, encoding: .utf8)
        for sets in [["arc.eval_file=\"\(empty)\"", "arc.eval_solutions=\"\""], ["arc.eval_count=0", "arc.eval_tasks=[]", "arc.eval_file=\"\(empty)\"", "arc.eval_solutions=\"\""]] {
            let r = try MPIRunner.run(ranks: nil, ["arc", "eval", "--config", job, "--out", out] + sets.flatMap { ["--set", $0] })
            XCTAssertEqual(r.status, 1, "\(sets): \(r.err)")
            XCTAssertTrue(r.err.contains(empty), "\(sets): \(r.err)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
    }

}
