import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// The ReSTEM engine end to end under mpirun, on tinystories-656k and real SQuAD passages: rank-count invariance,
/// resume after a kill, and config errors. Accuracy with this model is ~0, so the reward is the continuous
/// answer-likelihood proxy: it makes any nondeterminism visible in the numbers.
final class EngineCLITests: XCTestCase {
    let cli = CLIHarness()

    /// Three short SQuAD passages (2 questions each) for training, one for evaluation, and a config on them.
    func setup(rounds: Int = 2) throws -> (config: String, dir: URL) {
        let dir = cli.tmp("engine")
        let squad = CLIHarness.shared.appendingPathComponent("data/seal-reference/knowledge-incorporation/data/squad_val.json")
        let all = try JSONSerialization.jsonObject(with: Data(contentsOf: squad)) as! [[String: Any]]
        var short = all.filter { ($0["context"] as! String).count < 420 }.prefix(4).map { p -> [String: Any] in
            var q = p; q["questions"] = Array((p["questions"] as! [Any]).prefix(2)); return q
        }
        let eval = [short.removeLast()]
        try JSONSerialization.data(withJSONObject: Array(short)).write(to: dir.appendingPathComponent("train.json"))
        try JSONSerialization.data(withJSONObject: eval).write(to: dir.appendingPathComponent("eval.json"))
        let cfg = """
        [model]
        path = "\(CLIHarness.tiny)"
        [run]
        seed = 3
        rounds = \(rounds)
        threads = 1
        [sampling]
        samples = 2
        max_new_tokens = 24
        [inner]
        epochs = 1
        repeats = 2
        lora_rank = 4
        lora_alpha = 8
        [sft]
        lora_rank = 4
        lora_alpha = 8
        epochs = 1
        batch = 2
        [knowledge]
        train_file = "\(dir.appendingPathComponent("train.json").path)"
        eval_file = "\(dir.appendingPathComponent("eval.json").path)"
        reward = "answer_likelihood"
        """
        let path = dir.appendingPathComponent("run.toml").path
        try cfg.write(toFile: path, atomically: true, encoding: .utf8)
        return (path, dir)
    }

    /// Runs a Python script (Debian's python3 with h5py) on a metrics file; returns its stdout, trimmed.
    func h5py(_ script: String, _ h5: String) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        p.arguments = ["-c", script, h5]
        let o = Pipe(), e = Pipe()
        p.standardOutput = o; p.standardError = e
        try p.run()
        let out = o.fileHandleForReading.readDataToEndOfFile()
        let err = e.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, String(decoding: err, as: UTF8.self))
        return String(decoding: out, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Every number of a metrics file that must not depend on ranks or interruptions, read with h5py.
    func numbers(_ h5: String) throws -> String {
        let script = """
        import h5py, json, sys
        f = h5py.File(sys.argv[1], 'r')
        out = {'status': f.attrs['status'] if isinstance(f.attrs['status'], str) else f.attrs['status'].decode()}
        for r in sorted(f['rounds']):
            s = f['rounds'][r]['samples']
            out[r] = {k: [x if not isinstance(x, bytes) else x.decode() for x in s[k][()].tolist()]
                      for k in ['context_id', 'sample_index', 'reward', 'baseline_score', 'adapted_score', 'inner_loss', 'tokens', 'self_edit', 'kept']}
            out[r]['sft_loss'] = f['rounds'][r]['sft']['loss'][()].tolist()
        print(json.dumps(out, sort_keys=True))
        """
        return try h5py(script, h5)
    }

    func testRankCountInvarianceAndResume() throws {
        let (cfg, dir) = try setup()
        let one = dir.appendingPathComponent("one.h5").path
        var r = try MPIRunner.run(ranks: nil, ["knowledge", "train", "--config", cfg, "--out", one])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.out.contains("round 1:"), r.out)
        let two = dir.appendingPathComponent("two.h5").path
        r = try MPIRunner.run(ranks: 2, ["knowledge", "train", "--config", cfg, "--out", two])
        XCTAssertEqual(r.status, 0, r.err)
        let ref = try numbers(one)
        XCTAssertTrue(ref.contains("\"round_001\""))
        XCTAssertEqual(try numbers(two), ref, "per-sample rewards, self-edits and SFT losses must not depend on the rank count")
        let a1 = try Data(contentsOf: URL(fileURLWithPath: one + ".ckpt/round_001/adapter_model.safetensors"))
        let a2 = try Data(contentsOf: URL(fileURLWithPath: two + ".ckpt/round_001/adapter_model.safetensors"))
        XCTAssertEqual(a1, a2, "the policy updates must be bit-identical for 1 and 2 ranks")

        // Killed in the middle of round 1 under mpirun: the file holds round 0 and opens in h5py; the same
        // command resumes and ends with the uninterrupted run's numbers.
        let killed = dir.appendingPathComponent("killed.h5").path
        r = try MPIRunner.run(ranks: 2, ["knowledge", "train", "--config", cfg, "--out", killed],
                              mpiArgs: ["-x", "SEAL_DEBUG_KILL_IN_ROUND=1"])
        XCTAssertNotEqual(r.status, 0, "the job was killed")
        XCTAssertFalse(r.timedOut)
        let partial = try numbers(killed)
        XCTAssertTrue(partial.contains("\"round_000\"") && !partial.contains("\"round_001\""), partial)
        r = try MPIRunner.run(ranks: 2, ["knowledge", "train", "--config", cfg, "--out", killed])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.out.contains("resuming \(killed) after round 0"), "the log names the run and its last complete round: \(r.out)")
        XCTAssertEqual(try numbers(killed), ref, "a resumed run must end with the uninterrupted run's numbers")
    }

    /// Issue 16: replay. sft.replay_file's rows are mixed into every policy update as documented — round(K·f/(1−f))
    /// of them for K kept pairs, recorded as the round's replay_rows — deterministically (the same numbers on 1 and
    /// 2 ranks), and they change the update; bad settings are refused before any work, naming the key or line.
    func testReplayIsMixedIntoPolicyUpdates() throws {
        let (cfg, dir) = try setup()
        let replay = dir.appendingPathComponent("replay.jsonl")
        try Data((["Once upon a time there was a little dog.", "Tom liked to play in the park with his ball."].map { #"{"text": "\#($0)"}"# }
                  + [#"{"prompt": "Who is Lily?", "completion": " Lily is a girl who likes flowers."}"#]).joined(separator: "\n").utf8).write(to: replay)
        let plain = dir.appendingPathComponent("plain.h5").path
        var r = try MPIRunner.run(ranks: nil, ["knowledge", "train", "--config", cfg, "--out", plain])
        XCTAssertEqual(r.status, 0, r.err)
        let set = ["--set", "sft.replay_file=\"\(replay.path)\"", "--set", "sft.replay_fraction=0.6"]
        let one = dir.appendingPathComponent("one.h5").path, two = dir.appendingPathComponent("two.h5").path
        r = try MPIRunner.run(ranks: nil, ["knowledge", "train", "--config", cfg, "--out", one] + set)
        XCTAssertEqual(r.status, 0, r.err)
        r = try MPIRunner.run(ranks: 2, ["knowledge", "train", "--config", cfg, "--out", two] + set)
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertEqual(try numbers(one), try numbers(two), "replay must not make the numbers depend on the rank count")
        let counts = try h5py("""
        import h5py, sys
        f = h5py.File(sys.argv[1], 'r')
        for r in sorted(f['rounds']):
            g = f['rounds'][r]
            print(r, int(g['samples']['kept'][()].sum()), int(g.attrs['replay_rows']), len(g['sft']['loss'][()]))
        """, one)
        var sawReplay = false
        for line in counts.split(separator: "\n") {
            let f = line.split(separator: " ")
            guard f.count == 4, let kept = Int(f[1]), let rows = Int(f[2]), let steps = Int(f[3]) else { return XCTFail(counts) }
            XCTAssertEqual(rows, Int((Double(kept) * 0.6 / 0.4).rounded()), "round \(f[0]): \(kept) kept pairs")
            // sft.batch 2, 1 epoch: the steps cover kept + replay rows.
            XCTAssertEqual(steps, kept + rows == 0 ? 0 : (kept + rows + 1) / 2, "round \(f[0])")
            if rows > 0 { sawReplay = true }
        }
        XCTAssertTrue(sawReplay, "no round kept a pair, so replay was never used: \(counts)")
        XCTAssertNotEqual(try numbers(one), try numbers(plain), "replay rows changed nothing")
        // Settings checked before any work.
        for (extra, mentions) in [(["--set", "sft.replay_fraction=0.5"], "sft.replay_file"),
                                  (["--set", "sft.replay_file=\"\(replay.path)\""], "sft.replay_fraction"),
                                  (["--set", "sft.replay_fraction=0.99", "--set", "sft.replay_file=\"\(replay.path)\""], "sft.replay_fraction"),
                                  (["--set", "sft.replay_fraction=0.5", "--set", "sft.replay_file=\"\(dir.path)/none.jsonl\""], "none.jsonl")] {
            r = try MPIRunner.run(ranks: nil, ["knowledge", "train", "--config", cfg, "--out", dir.appendingPathComponent("bad.h5").path, "--overwrite"] + extra)
            XCTAssertNotEqual(r.status, 0, "\(extra)")
            XCTAssertTrue(r.err.contains(mentions), "\(extra): \(r.err)")
        }
        let broken = dir.appendingPathComponent("broken.jsonl")
        try Data("{\"text\": \"fine\"}\n\n{\"text\": 3}\n".utf8).write(to: broken)
        r = try MPIRunner.run(ranks: nil, ["knowledge", "train", "--config", cfg, "--out", dir.appendingPathComponent("bad.h5").path, "--overwrite",
                                           "--set", "sft.replay_fraction=0.5", "--set", "sft.replay_file=\"\(broken.path)\""])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.err.contains("broken.jsonl:3"), r.err)
    }

    /// Killed in the middle of round 0's inner loops (2 ranks): the finished units are in the journal; resumed on
    /// 1 rank, the run skips them and ends with the uninterrupted run's numbers. Then SIGTERM (Slurm's preemption
    /// signal) on a single-process run: it stops at the next unit boundary with status 143, and resumes likewise.
    func testJournalResumeAndSIGTERM() throws {
        let (cfg, dir) = try setup()
        let ref = dir.appendingPathComponent("ref.h5").path
        var r = try MPIRunner.run(ranks: 2, ["knowledge", "train", "--config", cfg, "--out", ref])
        XCTAssertEqual(r.status, 0, r.err)
        let expected = try numbers(ref)

        let killed = dir.appendingPathComponent("killed.h5").path
        r = try MPIRunner.run(ranks: 2, ["knowledge", "train", "--config", cfg, "--out", killed],
                              mpiArgs: ["-x", "SEAL_DEBUG_KILL_AFTER_UNITS=3"])
        XCTAssertNotEqual(r.status, 0, "the job was killed")
        let journal = URL(fileURLWithPath: killed + ".ckpt/round_000.journal")
        let lines = try FileManager.default.contentsOfDirectory(atPath: journal.path).reduce(0) { n, f in
            n + (try String(contentsOf: journal.appendingPathComponent(f), encoding: .utf8)).split(separator: "\n").count
        }
        XCTAssertGreaterThanOrEqual(lines, 3, "rank 0's three finished units (and the sampled self-edits) are journaled")
        r = try MPIRunner.run(ranks: nil, ["knowledge", "train", "--config", cfg, "--out", killed])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.out.contains("finished units found"), r.out)
        XCTAssertEqual(try numbers(killed), expected, "resuming from the journal on another rank count changes nothing")
        XCTAssertFalse(FileManager.default.fileExists(atPath: journal.path), "a committed round's journal is removed")

        // SIGTERM once the first unit is journaled.
        let termed = dir.appendingPathComponent("termed.h5").path
        let p = Process()
        p.executableURL = CLIHarness.binary
        p.arguments = ["knowledge", "train", "--config", cfg, "--out", termed]
        p.environment = MPIRunner.environment()
        let errPipe = Pipe()
        p.standardError = errPipe
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        let termJournal = termed + ".ckpt/round_000.journal"
        let deadline = Date().addingTimeInterval(120)
        var sent = false
        while p.isRunning && Date() < deadline {
            let files = (try? FileManager.default.contentsOfDirectory(atPath: termJournal)) ?? []
            let n = files.reduce(0) { $0 + ((try? String(contentsOfFile: termJournal + "/" + $1, encoding: .utf8))?.split(separator: "\n").count ?? 0) }
            if n >= 2 { p.terminate(); sent = true; break }
            usleep(20_000)
        }
        p.waitUntilExit()
        let err = String(decoding: errPipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertTrue(sent, "the run finished before SIGTERM could be sent")
        XCTAssertEqual(p.terminationStatus, 143, err)
        XCTAssertTrue(err.contains("stopped by SIGTERM"), err)
        r = try MPIRunner.run(ranks: 2, ["knowledge", "train", "--config", cfg, "--out", termed])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertEqual(try numbers(termed), expected, "a run stopped by SIGTERM resumes to the same numbers")
    }

    /// One `train` run holds every arm of the paper's table: the starting policy's arms, then SEAL after each round;
    /// rank 0 prints the table at the end.
    func testEveryArmInOneRun() throws {
        let (cfg, dir) = try setup()
        let out = dir.appendingPathComponent("arms.h5").path
        let r = try MPIRunner.run(ranks: 2, ["knowledge", "train", "--config", cfg, "--out", out,
                                             "--set", "eval.before_train=true", "--set", "eval.each_round=true"])
        XCTAssertEqual(r.status, 0, r.err)
        let script = "import h5py,sys; f=h5py.File(sys.argv[1],'r'); print(' '.join(sorted(f['evals'])))"
        let arms = try h5py(script, out)
        XCTAssertEqual(arms, "base passage seal_round_1 seal_round_2 self_edit")
        let table = r.out.components(separatedBy: "\n").filter { $0.hasPrefix("base ") || $0.hasPrefix("seal_round_") || $0.hasPrefix("arm ") }
        XCTAssertEqual(table.count, 4, r.out)
        XCTAssertTrue(r.out.range(of: "base +[0-9.]+% +2 ", options: .regularExpression) != nil, r.out)
    }

    /// Issue 16: eval.retention asks passages the starting policy knows (knowledge.retention_file) without
    /// adaptation before training and after every evaluated round (arms retention_round_N): what the updates made
    /// the policy forget. With the eval passages as the retention file, retention_round_0 answers exactly as base.
    func testRetentionArmsAfterEveryRound() throws {
        let (cfg, dir) = try setup()
        let out = dir.appendingPathComponent("retention.h5").path
        let evalFile = dir.appendingPathComponent("eval.json").path
        let r = try MPIRunner.run(ranks: 2, ["knowledge", "train", "--config", cfg, "--out", out,
                                             "--set", "eval.before_train=true", "--set", "eval.each_round=true", "--set", "eval.arms=[\"base\"]",
                                             "--set", "eval.retention=true", "--set", "knowledge.retention_file=\"\(evalFile)\""])
        XCTAssertEqual(r.status, 0, r.err)
        let script = """
        import h5py, json, sys
        f = h5py.File(sys.argv[1], 'r')
        out = {a: [x.decode() if isinstance(x, bytes) else x for x in f['evals'][a]['prediction'][()].tolist()] for a in f['evals']}
        print(json.dumps(out, sort_keys=True))
        """
        let arms = try JSONSerialization.jsonObject(with: Data(try h5py(script, out).utf8)) as! [String: [String]]
        XCTAssertEqual(arms.keys.sorted(), ["base", "retention_round_0", "retention_round_1", "retention_round_2", "seal_round_1", "seal_round_2"])
        XCTAssertEqual(arms["retention_round_0"], arms["base"], "the starting policy, unadapted, on the same passages")
        XCTAssertTrue(r.out.contains("retention_round_2"), r.out)
        // Without a retention file the run is refused before any work, naming the key.
        let bad = try MPIRunner.run(ranks: nil, ["knowledge", "train", "--config", cfg, "--out", dir.appendingPathComponent("bad.h5").path,
                                                 "--set", "eval.retention=true"])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.err.contains("knowledge.retention_file"), bad.err)
    }

    /// Every eval arm's predictions and verdicts plus every round's SFT losses, read with h5py.
    func armsAndLosses(_ h5: String) throws -> String {
        let script = """
        import h5py, json, sys
        f = h5py.File(sys.argv[1], 'r')
        out = {a: [[x.decode() if isinstance(x, bytes) else x for x in f['evals'][a][k][()].tolist()] for k in ('context_id', 'prediction', 'correct')]
               for a in f['evals']}
        out['sft'] = {r: f['rounds'][r]['sft']['loss'][()].tolist() for r in f['rounds']}
        print(json.dumps(out, sort_keys=True))
        """
        return try h5py(script, h5)
    }

    /// Continued pretraining (LoRA and full) and continual learning (with and without replay): 1 and 2 ranks give
    /// the same answers and losses; replay rows mixed into the continual updates change the answers.
    func testCPTAndContinualAreRankCountInvariant() throws {
        let (cfg, dir) = try setup()
        let train = dir.appendingPathComponent("train.json").path
        let replay = dir.appendingPathComponent("replay.jsonl")
        try Data((1...6).map { #"{"text": "Tom and his dog \#($0) went to the park to play with a red ball."}"# }.joined(separator: "\n").utf8).write(to: replay)
        let runs: [(String, [String])] = [
            ("cpt", ["run.experiment=cpt", "cpt.samples=2", "cpt.epochs=1", "cpt.batch=2", "cpt.lora_rank=4", "cpt.lora_alpha=8",
                     "knowledge.eval_file=\(train)", "eval.before_train=true", "eval.arms=[\"base\"]"]),
            ("cptfull", ["run.experiment=cpt", "cpt.full=true", "cpt.source=context", "cpt.epochs=1", "cpt.lr=1e-4", "knowledge.eval_file=\(train)"]),
            ("continual", ["run.experiment=continual", "continual.sequences=3", "continual.length=1", "knowledge.eval_file=\(train)"]),
            ("continual2", ["run.experiment=continual", "continual.sequences=1", "continual.length=3", "knowledge.eval_file=\(train)"]),
            ("continual2replay", ["run.experiment=continual", "continual.sequences=1", "continual.length=3", "knowledge.eval_file=\(train)",
                                  "sft.replay_file=\"\(replay.path)\"", "sft.replay_fraction=0.8"]),
        ]
        var byName: [String: String] = [:]
        for (name, sets) in runs {
            var results: [String] = []
            for ranks in [1, 2] {
                let out = dir.appendingPathComponent("\(name)-\(ranks).h5").path
                let r = try MPIRunner.run(ranks: ranks, ["knowledge", "train", "--config", cfg, "--out", out] + sets.flatMap { ["--set", $0] })
                XCTAssertEqual(r.status, 0, "\(name): \(r.err)")
                results.append(try armsAndLosses(out))
            }
            XCTAssertEqual(results[0], results[1], "\(name): 1 and 2 ranks must agree")
            byName[name] = results[0]
            switch name {
            case "cpt": XCTAssertTrue(results[0].contains("\"base\"") && results[0].contains("\"cpt\"") && results[0].contains("round_000"), results[0])
            case "continual": XCTAssertTrue(results[0].contains("continual_seq2_step_1"), results[0])
            case "continual2": XCTAssertTrue(results[0].contains("continual_seq0_step_3"), results[0])
            case "continual2replay":
                XCTAssertTrue(results[0].contains("continual_seq0_step_3"), results[0])
                XCTAssertNotEqual(results[0], byName["continual2"], "replay rows changed nothing in the continual updates")
            default: XCTAssertTrue(results[0].contains("\"cpt\""), results[0])
            }
        }
    }

    /// Self-edits written elsewhere for the evaluation passage: an empty one and two real ones sharing a line.
    func externalSelfEdits(_ dir: URL) throws -> String {
        let eval = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("eval.json"))) as! [[String: Any]]
        var e = eval[0]
        e["completions"] = ["  \n ", "Intro:\n1. The passage is short.\n2. It has a title.", "1. The passage is short."]
        let f = dir.appendingPathComponent("edits.json")
        try JSONSerialization.data(withJSONObject: [e]).write(to: f)
        return f.path
    }

    /// An empty self-edit is data, never a failure: with knowledge.empty_self_edit = invalid it is recorded as
    /// unusable and its questions go to the un-adapted model; with train it trains on the passage alone. Both runs
    /// finish with every self-edit's answers recorded.
    func testEmptySelfEditIsData() throws {
        let (cfg, dir) = try setup()
        let edits = try externalSelfEdits(dir)
        let script = "import h5py,sys; e=h5py.File(sys.argv[1],'r')['evals']['external']; print(len(e['prediction']), sum(p.decode().startswith('[self-edit unusable: empty self-edit') for p in e['prediction'][()]))"
        for (policy, unusable) in [("invalid", "6 2"), ("train", "6 0")] {
            let out = dir.appendingPathComponent("empty-\(policy).h5").path
            let r = try MPIRunner.run(ranks: 1, ["knowledge", "eval", "--config", cfg, "--out", out, "--set", "eval.arms=[\"external\"]",
                                                 "--set", "knowledge.self_edits_file=\"\(edits)\"", "--set", "knowledge.empty_self_edit=\"\(policy)\""])
            XCTAssertEqual(r.status, 0, "\(policy): \(r.err)")
            // 3 self-edits x 2 questions; the empty self-edit's 2 answers are marked unusable under `invalid` only.
            XCTAssertEqual(try h5py(script, out), unusable, policy)
        }
    }

    /// CPT trains on the union of every self-edit's rows as SEAL's CPT.py does (the passage once per self-edit), or
    /// on each distinct row once with cpt.distinct_rows.
    func testCPTRowsFollowSEALsCPT() throws {
        let (cfg, dir) = try setup()
        let edits = try externalSelfEdits(dir)
        // Rows: empty → passage; second → 2 lines + passage; third → 1 line + passage = 6 rows, 3 distinct.
        // knowledge.end_with_eos adds one token (an EOS target) to every row.
        var tokens: [String: Int] = [:]
        for (distinct, eos, rows) in [(false, false, 6), (true, false, 3), (false, true, 6)] {
            let out = dir.appendingPathComponent("cptrows-\(distinct)-\(eos).h5").path
            let r = try MPIRunner.run(ranks: 1, ["knowledge", "train", "--config", cfg, "--out", out, "--set", "run.experiment=cpt",
                                                 "--set", "cpt.source=external", "--set", "cpt.epochs=1", "--set", "eval.arms=[]",
                                                 "--set", "knowledge.self_edits_file=\"\(edits)\"", "--set", "cpt.distinct_rows=\(distinct)",
                                                 "--set", "knowledge.end_with_eos=\(eos)"])
            XCTAssertEqual(r.status, 0, r.err)
            XCTAssertTrue((r.out + r.err).contains("cpt: \(rows) training rows from 1 contexts"), "distinct_rows=\(distinct): " + r.out + r.err)
            let attrs = try h5py("import h5py,sys; a=h5py.File(sys.argv[1],'r')['rounds']['round_000'].attrs; print(int(a['rows']), int(a['row_tokens']))", out)
            let parts = attrs.split(separator: " ").map { Int($0)! }
            XCTAssertEqual(parts[0], rows)
            tokens["\(distinct)-\(eos)"] = parts[1]
        }
        XCTAssertEqual(tokens["false-true"]! - tokens["false-false"]!, 6, "one EOS per row")
        XCTAssertGreaterThan(tokens["false-false"]!, tokens["true-false"]!)
    }

    /// Every shipped job config resolves (every key known, every data file found): run with a model path that does
    /// not exist, each must get as far as loading the model.
    func testShippedJobConfigsResolve() throws {
        let jobs = CLIHarness.root.appendingPathComponent("jobs")
        let files = try FileManager.default.contentsOfDirectory(atPath: jobs.path).filter { $0.hasSuffix(".toml") }.sorted()
        XCTAssertGreaterThan(files.count, 5)
        for f in files {
            let domain = f.hasPrefix("arc-") ? "arc" : "knowledge"
            // toyworld-pretrain.toml is `seal pretrain`'s (its own test); the other toyworld jobs are knowledge jobs.
            guard f.hasPrefix("arc-") || f.hasPrefix("knowledge-") || (f.hasPrefix("toyworld") && f != "toyworld-pretrain.toml") else { continue }
            let r = try MPIRunner.run(ranks: nil, [domain, "train", "--config", jobs.appendingPathComponent(f).path,
                                                   "--out", cli.tmp("jobs").appendingPathComponent("x.h5").path,
                                                   "--set", "model.path=/nonexistent-model"])
            XCTAssertNotEqual(r.status, 0, f)
            XCTAssertTrue(r.err.contains("/nonexistent-model"), "\(f): \(r.err)")
        }
    }

    /// The toy-world smoke job (make run's job at a small size) under mpirun -np 2: all five arms land in HDF5.
    func testToyWorldSmokeJob() throws {
        let out = cli.tmp("toyworld").appendingPathComponent("smoke.h5").path
        let r = try MPIRunner.run(ranks: 2, ["knowledge", "train", "--config", CLIHarness.root.appendingPathComponent("jobs/toyworld-smoke.toml").path,
                                             "--out", out, "--set", "run.threads=1"], timeout: 300)
        XCTAssertEqual(r.status, 0, r.err)
        let script = "import h5py,sys; f=h5py.File(sys.argv[1],'r'); print(' '.join(sorted(f['evals'])), f.attrs['status'])"
        let line = try h5py(script, out)
        XCTAssertEqual(line, "base passage seal_round_1 seal_round_2 self_edit finished")
    }

    /// A self-edit whose inner loop diverges is data, not a crash: reward 0, status "diverged: …", its eval
    /// questions wrong, and the run finishes. An inner loop that diverges on the context alone is the config's
    /// fault: an error naming the arm, the context and inner.lr.
    func testDivergingInnerLoop() throws {
        let smoke = CLIHarness.root.appendingPathComponent("jobs/toyworld-smoke.toml").path
        let out = cli.tmp("diverge").appendingPathComponent("d.h5").path
        var r = try MPIRunner.run(ranks: 2, ["knowledge", "train", "--config", smoke, "--out", out, "--set", "run.threads=1",
                                             "--set", "inner.lr=1e30", "--set", "run.rounds=1", "--set", "eval.arms=[\"self_edit\"]"], timeout: 300)
        XCTAssertEqual(r.status, 0, r.err)
        let script = """
        import h5py, sys, math
        f = h5py.File(sys.argv[1], 'r'); s = f['rounds/round_000/samples']; e = f['evals/self_edit']
        st = [x.decode() for x in s['status'][()]]
        print(len(st), all(x.startswith('diverged: ') for x in st), float(max(s['reward'][()])),
              all(math.isnan(x) for x in s['adapted_score'][()]), int(e['correct'][()].sum()),
              all(p.decode().startswith('[inner loop diverged') for p in e['prediction'][()]), f.attrs['status'])
        """
        XCTAssertEqual(try h5py(script, out), "16 True 0.0 True 0 True finished")
        r = try MPIRunner.run(ranks: nil, ["knowledge", "train", "--config", smoke, "--out", out + ".2", "--set", "run.threads=1",
                                           "--set", "inner.lr=1e30"], timeout: 300)
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.err.contains("arm passage") && r.err.contains("inner.lr"), r.err)
    }

    func testConfigErrors() throws {
        let (cfg, dir) = try setup(rounds: 1)
        var r = try MPIRunner.run(ranks: nil, ["knowledge", "train", "--config", cfg, "--set", "inner.learning_rate=1"])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.err.contains("inner.learning_rate"), r.err)
        let out = dir.appendingPathComponent("x.h5").path
        r = try MPIRunner.run(ranks: nil, ["knowledge", "train", "--config", cfg, "--out", out])
        XCTAssertEqual(r.status, 0, r.err)
        r = try MPIRunner.run(ranks: nil, ["knowledge", "train", "--config", cfg, "--out", out, "--set", "inner.lr=0.01"])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.err.contains("different configuration"), r.err)
        r = try MPIRunner.run(ranks: nil, ["knowledge", "train", "--config", cfg, "--out", out, "--set", "inner.lr=0.01", "--overwrite"])
        XCTAssertEqual(r.status, 0, r.err)
        r = try MPIRunner.run(ranks: 2, ["knowledge", "train", "--config", cfg, "--set", "knowledge.train_file=/nonexistent.json"])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.err.contains("/nonexistent.json") && r.err.contains("rank"), r.err)
        XCTAssertFalse(r.timedOut)
    }

    /// Bad values of every kind, from --set and from the TOML file, are refused before any work (no metrics file,
    /// no checkpoint, no journal is written) with exit code 1 and a message naming the key; never a crash.
    func testBadValuesAreRefusedBeforeAnyWork() throws {
        let (cfg, dir) = try setup(rounds: 1)
        let out = dir.appendingPathComponent("bad.h5").path
        let cases: [(String, String)] = [
            ("inner.lr=nan", "inner.lr"), ("inner.lr=inf", "inner.lr"), ("inner.lr=-inf", "inner.lr"), ("inner.lr=1e400", "inner.lr"),
            ("sft.lr=nan", "sft.lr"), ("filter.threshold=inf", "filter.threshold"), ("inner.lora_alpha=-1e999", "inner.lora_alpha"),
            ("run.rounds=-1", "run.rounds"), ("run.rounds=1000000", "run.rounds"), ("run.contexts_per_round=-1", "run.contexts_per_round"),
            ("knowledge.eval_count=-1", "knowledge.eval_count"), ("knowledge.train_skip=-2", "knowledge.train_skip"),
            ("inner.lora_rank=0", "inner.lora_rank"), ("sft.lora_rank=-4", "sft.lora_rank"), ("inner.repeats=0", "inner.repeats"),
            ("sft.batch=0", "sft.batch"), ("sampling.batch=0", "sampling.batch"), ("run.threads=-1", "run.threads"),
            ("run.threads=100000", "run.threads"), ("sampling.samples=0", "sampling.samples"), ("sampling.samples=-1", "sampling.samples"),
            ("sampling.temperature=-1", "sampling.temperature"), ("sampling.top_p=1.5", "sampling.top_p"), ("sampling.top_p=0", "sampling.top_p"),
            ("sampling.max_new_tokens=9223372036854775807", "sampling.max_new_tokens"), ("run.rounds=2.5", "run.rounds"),
            ("inner.repeats=\"3\"", "inner.repeats"), ("inner.lora_targets=[3]", "inner.lora_targets"),
            ("inner.lora_targets=[\"q_proj\", \"qq_proj\"]", "inner.lora_targets"), ("eval.arms=[\"basee\"]", "eval.arms"),
            ("inner.epochs=1e300", "inner.epochs"), ("sft.epochs=0", "sft.epochs"), ("grader.timeout=-5", "grader.timeout"),
        ]
        for (o, key) in cases {
            let r = try MPIRunner.run(ranks: nil, ["knowledge", "train", "--config", cfg, "--out", out, "--set", o])
            XCTAssertEqual(r.status, 1, "\(o): \(r.err)")
            XCTAssertTrue(r.err.contains("'\(key)'"), "\(o): \(r.err)")
            XCTAssertFalse(r.err.contains("Fatal error") || r.err.contains("Illegal instruction"), r.err)
            XCTAssertFalse(FileManager.default.fileExists(atPath: out) || FileManager.default.fileExists(atPath: out + ".ckpt"),
                           "\(o): work started before the value was checked")
        }
        // The same from the file: the message names the file and the key.
        let text = try String(contentsOfFile: cfg, encoding: .utf8)
        for (line, key) in [("lr = nan", "inner.lr"), ("lr = 1e400", "inner.lr"), ("max_length = 0", "inner.max_length"),
                            ("lr = -inf", "inner.lr"), ("batch_size = 2.5", "inner.batch_size")] {
            let bad = dir.appendingPathComponent("bad-\(key).toml").path
            try text.replacingOccurrences(of: "[inner]\n", with: "[inner]\n\(line)\n").write(toFile: bad, atomically: true, encoding: .utf8)
            let r = try MPIRunner.run(ranks: nil, ["knowledge", "eval", "--config", bad, "--out", out])
            XCTAssertEqual(r.status, 1, "\(line): \(r.err)")
            XCTAssertTrue(r.err.contains(bad) && r.err.contains("'\(key)'"), "\(line): \(r.err)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: out), line)
        }
    }

    /// No context to work on is an error naming the file (or the unset key), never exit 0 after running nothing:
    /// an empty passage list, a skip that leaves none, a split the command needs but the config does not give.
    func testEmptyContextListsAreErrors() throws {
        let (cfg, dir) = try setup(rounds: 1)
        let out = dir.appendingPathComponent("empty.h5").path
        let empty = dir.appendingPathComponent("empty.json").path
        try "[]".write(toFile: empty, atomically: true, encoding: .utf8)
        let emptyOfficial = dir.appendingPathComponent("empty-squad.json").path
        try #"{"data": [{"title": "T", "paragraphs": []}]}"#.write(toFile: emptyOfficial, atomically: true, encoding: .utf8)
        let cases: [([String], [String], String)] = [
            (["eval"], ["knowledge.eval_file=\"\(empty)\""], empty),
            (["eval"], ["knowledge.eval_file=\"\(emptyOfficial)\""], emptyOfficial),
            (["train"], ["knowledge.train_file=\"\(empty)\""], empty),
            (["eval"], ["knowledge.eval_skip=1"], "knowledge.eval_skip"),
            (["train"], ["knowledge.train_skip=3"], "knowledge.train_skip"),
            (["train"], ["knowledge.train_shuffle_seed=42", "knowledge.train_skip=100"], "knowledge.train_skip"),
            (["train"], ["knowledge.train_file=\"\""], "knowledge.train_file"),
            (["eval"], ["knowledge.eval_file=\"\""], "knowledge.eval_file"),
            (["cpt"], ["knowledge.eval_file=\"\""], "knowledge.eval_file"),
            (["eval"], ["eval.arms=[]"], "eval.arms"),
        ]
        for (cmd, sets, named) in cases {
            let r = try MPIRunner.run(ranks: nil, ["knowledge"] + cmd + ["--config", cfg, "--out", out] + sets.flatMap { ["--set", $0] })
            XCTAssertEqual(r.status, 1, "\(cmd) \(sets): \(r.out) \(r.err)")
            XCTAssertTrue(r.err.contains(named), "\(cmd) \(sets): \(r.err)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: out), "\(sets): a run file was written")
        }
        // A split the command does not use may be empty: eval needs no training passages.
        let r = try MPIRunner.run(ranks: nil, ["knowledge", "eval", "--config", cfg, "--out", out, "--set", "knowledge.train_file=\"\"",
                                               "--set", "eval.arms=[\"base\"]"])
        XCTAssertEqual(r.status, 0, r.err)
    }

    /// Files under a run's checkpoint folder and the run's own file, byte for byte.
    func snapshot(_ out: String) throws -> [String: Data] {
        var files: [String: Data] = [:]
        let fm = FileManager.default
        let ckpt = out + ".ckpt"
        for case let rel as String in fm.enumerator(atPath: ckpt) ?? NSEnumerator() {
            var isDir: ObjCBool = false
            if fm.fileExists(atPath: ckpt + "/" + rel, isDirectory: &isDir), !isDir.boolValue {
                files[rel] = try Data(contentsOf: URL(fileURLWithPath: ckpt + "/" + rel))
            }
        }
        files["RUN.h5"] = try Data(contentsOf: URL(fileURLWithPath: out))
        return files
    }

    /// `--overwrite` on the --out of a live run is refused before it deletes anything: the live run's checkpoint,
    /// journal and metrics file stay byte-identical, and the run resumes afterwards. The live writer here is this
    /// test process holding the writers' lock (flock on RUN.h5.writing) of a run killed in round 1 — the state a
    /// live run is in while it works on round 1. Without a live writer, --overwrite clears the old checkpoints.
    func testOverwriteOfALiveRunTouchesNothing() throws {
        let (cfg, dir) = try setup(rounds: 2)
        let out = dir.appendingPathComponent("live.h5").path
        var r = try MPIRunner.run(ranks: 1, ["knowledge", "train", "--config", cfg, "--out", out], mpiArgs: ["-x", "SEAL_DEBUG_KILL_IN_ROUND=1"])
        XCTAssertNotEqual(r.status, 0, "killed in round 1")
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + ".ckpt/round_000") || FileManager.default.fileExists(atPath: out + ".ckpt/round_000.empty"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + ".ckpt/round_001.journal"), "round 1's journal")
        let before = try snapshot(out)
        XCTAssertGreaterThan(before.count, 2)

        let fd = open(out + ".writing", O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        XCTAssertGreaterThanOrEqual(fd, 0)
        XCTAssertEqual(flock(fd, LOCK_EX | LOCK_NB), 0, "the test holds the writers' lock")
        for extra in [[], ["--set", "inner.lr=0.01"], ["--set", "run.rounds=3"]] {
            for cmd in ["train", "eval", "cpt"] {
                r = try MPIRunner.run(ranks: nil, ["knowledge", cmd, "--config", cfg, "--out", out, "--overwrite"] + extra)
                XCTAssertEqual(r.status, 1, "\(cmd) \(extra): \(r.err)")
                XCTAssertTrue(r.err.contains("another writer"), "\(cmd) \(extra): \(r.err)")
                XCTAssertEqual(try snapshot(out), before, "\(cmd) --overwrite \(extra) changed the live run's files")
            }
        }
        // Without --overwrite the live run is refused too, and untouched.
        r = try MPIRunner.run(ranks: nil, ["knowledge", "train", "--config", cfg, "--out", out])
        XCTAssertEqual(r.status, 1, r.err)
        XCTAssertTrue(r.err.contains("another writer"), r.err)
        XCTAssertEqual(try snapshot(out), before)
        close(fd)

        // The "live" run goes on: it resumes after round 0, reuses round 1's journal, and finishes.
        r = try MPIRunner.run(ranks: nil, ["knowledge", "train", "--config", cfg, "--out", out])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.out.contains("resuming \(out) after round 0"), r.out)
        XCTAssertTrue(r.out.contains("finished units found in"), "round 1's journal was used: \(r.out)")
        XCTAssertEqual(try h5py("import h5py,sys; f=h5py.File(sys.argv[1],'r'); print(' '.join(sorted(f['rounds'])), f.attrs['status'])", out),
                       "round_000 round_001 finished")

        // With no writer, --overwrite starts over: the old checkpoints are gone before the new run writes its own.
        r = try MPIRunner.run(ranks: nil, ["knowledge", "train", "--config", cfg, "--out", out, "--overwrite", "--set", "run.rounds=0",
                                           "--set", "eval.before_train=true", "--set", "eval.arms=[\"base\"]"])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out + ".ckpt/round_000") || FileManager.default.fileExists(atPath: out + ".ckpt/round_000.empty"))

        // Checkpoints beside a missing metrics file belong to another run: refused (not mixed in) without
        // --overwrite, cleared with it.
        let orphan = dir.appendingPathComponent("orphan.h5").path
        try FileManager.default.createDirectory(atPath: orphan + ".ckpt/round_000.journal", withIntermediateDirectories: true)
        try "{}\n".write(toFile: orphan + ".ckpt/round_000.journal/rank0-pid1.jsonl", atomically: true, encoding: .utf8)
        r = try MPIRunner.run(ranks: nil, ["knowledge", "train", "--config", cfg, "--out", orphan])
        XCTAssertEqual(r.status, 1, r.err)
        XCTAssertTrue(r.err.contains(orphan + ".ckpt") && r.err.contains("--overwrite"), r.err)
        XCTAssertTrue(FileManager.default.fileExists(atPath: orphan + ".ckpt/round_000.journal/rank0-pid1.jsonl"))
        r = try MPIRunner.run(ranks: nil, ["knowledge", "train", "--config", cfg, "--out", orphan, "--overwrite", "--set", "run.rounds=0",
                                           "--set", "eval.before_train=true", "--set", "eval.arms=[\"base\"]"])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertFalse(FileManager.default.fileExists(atPath: orphan + ".ckpt/round_000.journal"))
    }

}
