import Foundation
import XCTest
import SealTestSupport

/// Every command that takes a model takes a `.gguf` file too: generate (greedy chat on SmolLM2 against
/// transformers), score, finetune (a LoRA adapter on a GGUF base, and --full), serve, model info and convert, and
/// `model.path = "X.gguf"` in a job.
final class GGUFCLITests: XCTestCase {
    let cli = CLIHarness()
    /// TinyStories' tokenizer as a llama SentencePiece GGUF with a tiny random model (scripts/fixtures/gguf_tokenizer.py).
    static var tiny: String { CLIHarness.root.appendingPathComponent("Tests/Fixtures/gguf/tokenizer/tinystories-spm.gguf").path }

    func json(_ s: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(s.utf8)) as! [String: Any]
    }

    func jsonLines(_ s: String) throws -> [[String: Any]] {
        try s.split(separator: "\n").map { try json(String($0)) }
    }

    /// scripts/get-model.sh smollm2-135m-instruct (the test fails, saying why, when PyPI cannot be reached).
    func smolLM2() throws -> String { try TestModels.smolLM2().path }

    /// Greedy `seal generate --chat` on the GGUF equals transformers' generate() on it, token for token, from
    /// apply_chat_template's prompt ids.
    func testGenerateChatOnSmolLM2EqualsTransformers() throws {
        let model = try smolLM2()
        let fx = try JSONSerialization.jsonObject(with: Data(contentsOf: CLIHarness.root.appendingPathComponent("Tests/Fixtures/gguf/tokenizer/smollm2.json"))) as! [String: Any]
        let chat = fx["chat"] as! [String: Any]
        let want = chat["generated_ids"] as! [Int]
        let r = try cli.seal(["generate", "--model", model, "--chat", "--prompt", chat["user"] as! String,
                              "--max-new-tokens", String(want.count), "--json", "--threads", "2"])
        XCTAssertEqual(r.status, 0, r.err)
        let out = try jsonLines(r.out)[0]
        XCTAssertEqual(out["token_ids"] as? [Int], want, "seal: \(out["text"] ?? "") / transformers: \(chat["text"]!)")
        print("smollm2 generate --chat: \((out["token_ids"] as? [Int])?.count ?? 0) tokens equal transformers': \((out["text"] as? String ?? "").debugDescription)")

        // seal serve's chat completions render and encode the conversation the same way.
        let server = try ServeProcess(model: model)
        let (status, o) = try server.post("/v1/chat/completions", ["messages": [["role": "user", "content": chat["user"] as! String]],
                                                                  "temperature": 0, "max_tokens": want.count])
        XCTAssertEqual(status, 200)
        let choice = (o["choices"] as! [[String: Any]])[0]
        XCTAssertEqual((choice["message"] as! [String: Any])["content"] as? String, out["text"] as? String)
        XCTAssertEqual((o["usage"] as! [String: Any])["prompt_tokens"] as? Int, (fx["chat"] as! [String: Any])["prompt_ids"].map { ($0 as! [Any]).count })
    }

    func testModelInfoSaysGGUF() throws {
        let r = try cli.seal(["model", "info", Self.tiny, "--json"])
        XCTAssertEqual(r.status, 0, r.err)
        let o = try json(r.out)
        XCTAssertEqual(o["format"] as? String, "gguf")
        XCTAssertEqual(o["tensor_types"] as? [String: Int], ["F32": 3, "Q8_0": 8])
        XCTAssertEqual(o["vocab_size"] as? Int, 2048)
        let text = try cli.seal(["model", "info", Self.tiny])
        XCTAssertEqual(text.status, 0, text.err)
        XCTAssertTrue(text.out.contains("GGUF (llama.cpp) file, tensors F32 ×3, Q8_0 ×8"), text.out)
    }

    /// `seal model convert`: a directory seal reads with the same logits (score) and tokens (tokenize) as the GGUF,
    /// holding what transformers needs (the fixture script checked that transformers loads it with the GGUF's
    /// logits, |Δ| = 0); bf16 too; bad input refused by name.
    func testConvert() throws {
        let dir = cli.tmp("convert")
        let out = dir.appendingPathComponent("hf").path
        let r = try cli.seal(["model", "convert", Self.tiny, "--out", out])
        XCTAssertEqual(r.status, 0, r.err)
        for f in ["config.json", "generation_config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: "\(out)/\(f)"), f)
        }
        let info = try json(try cli.seal(["model", "info", out, "--json"]).out)
        XCTAssertEqual(info["format"] as? String, "safetensors")
        XCTAssertEqual(info["dtype_on_disk"] as? String, "float32")
        let text = dir.appendingPathComponent("t.txt")
        try "Once upon a time, there was a little girl named Lily. She loved 3 cats.".write(to: text, atomically: true, encoding: .utf8)
        let a = try cli.seal(["score", "--model", Self.tiny, "--text-file", text.path, "--json"])
        let b = try cli.seal(["score", "--model", out, "--text-file", text.path, "--json"])
        XCTAssertEqual(a.status, 0, a.err)
        XCTAssertEqual(b.status, 0, b.err)
        XCTAssertEqual(a.out, b.out, "score on the GGUF and on its conversion differ")
        let ta = try cli.seal(["tokenize", "--model", Self.tiny, "--text-file", text.path])
        let tb = try cli.seal(["tokenize", "--model", out, "--text-file", text.path])
        XCTAssertEqual(ta.status, 0, ta.err)
        XCTAssertEqual(ta.out, tb.out)

        let bf = dir.appendingPathComponent("bf16").path
        let r2 = try cli.seal(["model", "convert", Self.tiny, "--out", bf, "--dtype", "bf16"])
        XCTAssertEqual(r2.status, 0, r2.err)
        XCTAssertEqual(try json(try cli.seal(["model", "info", bf, "--json"]).out)["dtype_on_disk"] as? String, "bfloat16")

        let bad = try cli.seal(["model", "convert", Self.tiny, "--out", out, "--dtype", "q4"])
        XCTAssertNotEqual(bad.status, 0)
        let notGGUF = try cli.seal(["model", "convert", CLIHarness.tiny, "--out", dir.appendingPathComponent("x").path])
        XCTAssertNotEqual(notGGUF.status, 0)
        XCTAssertTrue(notGGUF.err.contains(".gguf"), notGGUF.err)
        XCTAssertFalse(bad.crashed || notGGUF.crashed)
    }

    /// finetune on a GGUF base: a LoRA adapter that generate and score apply on that base; --full writes a
    /// directory with the GGUF's config and tokenizer.
    func testFinetuneOnGGUF() throws {
        let dir = cli.tmp("ggft")
        let data = dir.appendingPathComponent("d.jsonl")
        try "{\"prompt\": \"Once upon a time\", \"completion\": \" there was a cat.\"}\n{\"text\": \"The dog ran to the park.\"}\n"
            .write(to: data, atomically: true, encoding: .utf8)
        let adapter = dir.appendingPathComponent("lora").path
        var r = try cli.seal(["finetune", "--model", Self.tiny, "--data", data.path, "--out", adapter, "--steps", "3", "--lr", "1e-2",
                              "--lora-rank", "4", "--threads", "1"])
        XCTAssertEqual(r.status, 0, r.err)
        let cfg = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: adapter + "/adapter_config.json"))) as! [String: Any]
        XCTAssertTrue((cfg["base_model_name_or_path"] as? String ?? "").hasSuffix("tinystories-spm.gguf"))
        // The adapter lowers the loss of the text it was trained on; generate applies it too.
        let text = dir.appendingPathComponent("t.txt")
        try "The dog ran to the park.".write(to: text, atomically: true, encoding: .utf8)
        let plain = try cli.seal(["score", "--model", Self.tiny, "--text-file", text.path, "--json"])
        let tuned = try cli.seal(["score", "--model", Self.tiny, "--adapter", adapter, "--text-file", text.path, "--json"])
        XCTAssertEqual(plain.status, 0, plain.err)
        XCTAssertEqual(tuned.status, 0, tuned.err)
        let before = try json(plain.out)["mean_nll"] as! Double, after = try json(tuned.out)["mean_nll"] as! Double
        XCTAssertLessThan(after, before - 0.1, "the adapter did not lower the trained text's loss (\(before) → \(after))")
        r = try cli.seal(["generate", "--model", Self.tiny, "--adapter", adapter, "--prompt", "Once upon a time", "--max-new-tokens", "4"])
        XCTAssertEqual(r.status, 0, r.err)

        let full = dir.appendingPathComponent("full").path
        r = try cli.seal(["finetune", "--model", Self.tiny, "--data", data.path, "--out", full, "--steps", "2", "--full", "--threads", "1"])
        XCTAssertEqual(r.status, 0, r.err)
        let info = try cli.seal(["model", "info", full, "--json"])
        XCTAssertEqual(info.status, 0, info.err)
        XCTAssertEqual(try json(info.out)["vocab_size"] as? Int, 2048)
        let t1 = try cli.seal(["tokenize", "--model", Self.tiny, "--text", "Lily saw 3 cats."])
        let t2 = try cli.seal(["tokenize", "--model", full, "--text", "Lily saw 3 cats."])
        XCTAssertEqual(t1.out, t2.out)
    }

    func testServeOnGGUF() throws {
        let server = try ServeProcess(model: Self.tiny)
        let (status, o) = try server.post("/v1/completions", ["prompt": "Once upon a time", "max_tokens": 6, "temperature": 0])
        XCTAssertEqual(status, 200)
        let text = (o["choices"] as! [[String: Any]])[0]["text"] as! String
        let g = try cli.seal(["generate", "--model", Self.tiny, "--prompt", "Once upon a time", "--max-new-tokens", "6", "--json"])
        XCTAssertEqual(text, try jsonLines(g.out)[0]["text"] as? String)
    }

    /// model.path = "X.gguf" in a job: the knowledge domain's base arm, single process.
    func testJobWithGGUFModelPath() throws {
        let dir = cli.tmp("ggjob")
        let passages: [[String: Any]] = [["title": "Cats", "context": "Lily has three cats. They are black.",
                                          "questions": [["question": "How many cats does Lily have?", "answer": "three"]]]]
        try JSONSerialization.data(withJSONObject: passages).write(to: dir.appendingPathComponent("eval.json"))
        let cfg = """
        [model]
        path = "\(Self.tiny)"
        [run]
        threads = 1
        [eval]
        arms = ["base"]
        [knowledge]
        train_file = "\(dir.appendingPathComponent("eval.json").path)"
        eval_file = "\(dir.appendingPathComponent("eval.json").path)"
        answer_tokens = 8
        """
        let path = dir.appendingPathComponent("job.toml").path
        try cfg.write(toFile: path, atomically: true, encoding: .utf8)
        let r = try cli.seal(["knowledge", "eval", "--config", path, "--out", dir.appendingPathComponent("m.h5").path])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue((r.out + r.err).contains("base"), r.out + r.err)
        var bad = cfg.replacingOccurrences(of: Self.tiny, with: dir.appendingPathComponent("missing.gguf").path)
        bad += "\n"
        try bad.write(toFile: path, atomically: true, encoding: .utf8)
        let m = try cli.seal(["knowledge", "eval", "--config", path, "--out", dir.appendingPathComponent("m2.h5").path])
        XCTAssertNotEqual(m.status, 0)
        XCTAssertTrue(m.err.contains("missing.gguf"), m.err)
        // Questions asked in a chat format the tokenizer does not have: an error naming the key, not plain prompts.
        try (cfg + "\nanswer_chat = true\n").write(toFile: path, atomically: true, encoding: .utf8)
        let c = try cli.seal(["knowledge", "eval", "--config", path, "--out", dir.appendingPathComponent("m3.h5").path])
        XCTAssertNotEqual(c.status, 0)
        XCTAssertTrue(c.err.contains("knowledge.answer_chat"), c.err)
    }

    /// The shipped SmolLM2 job (jobs/knowledge-smollm2.toml: the GGUF as model.path, chat on for the self-edit
    /// requests and the questions) on the real model at smoke size: one SEAL evaluation passage, the base and
    /// passage arms, one epoch.
    func testShippedSmolLM2JobRuns() throws {
        let model = try smolLM2()
        let out = cli.tmp("smoljob").appendingPathComponent("m.h5").path
        let r = try cli.seal(["knowledge", "eval", "--config", CLIHarness.root.appendingPathComponent("jobs/knowledge-smollm2.toml").path,
                              "--out", out, "--set", "model.path=\(model)", "--set", "knowledge.eval_count=1",
                              "--set", "eval.arms=base,passage", "--set", "inner.epochs=1", "--set", "knowledge.answer_tokens=12",
                              "--set", "run.threads=1"])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.out.contains("passage"), r.out)
    }

    /// A ReSTEM round on a GGUF base (model.path = "X.gguf"): the round's policy update is checkpointed as a PEFT
    /// adapter naming the GGUF as its base, and a second run resumes from it instead of training again.
    func testTrainAndResumeOnGGUF() throws {
        let dir = cli.tmp("ggtrain")
        let passages: [[String: Any]] = [
            ["title": "Cats", "context": "Lily has three cats. They are black and they sleep on the bed.",
             "questions": [["question": "How many cats does Lily have?", "answer": "three"]]],
            ["title": "Dogs", "context": "Tom has a big dog named Max. Max likes to run in the park.",
             "questions": [["question": "What is the name of Tom's dog?", "answer": "Max"]]],
        ]
        try JSONSerialization.data(withJSONObject: passages).write(to: dir.appendingPathComponent("p.json"))
        let cfg = """
        [model]
        path = "\(Self.tiny)"
        [run]
        seed = 3
        rounds = 1
        threads = 1
        [sampling]
        samples = 2
        max_new_tokens = 12
        [inner]
        epochs = 1
        lora_rank = 4
        lora_alpha = 8
        [sft]
        lora_rank = 4
        lora_alpha = 8
        epochs = 1
        [eval]
        arms = ["base"]
        [knowledge]
        train_file = "\(dir.appendingPathComponent("p.json").path)"
        eval_file = "\(dir.appendingPathComponent("p.json").path)"
        reward = "answer_likelihood"
        answer_tokens = 8
        """
        let path = dir.appendingPathComponent("train.toml").path
        try cfg.write(toFile: path, atomically: true, encoding: .utf8)
        let out = dir.appendingPathComponent("run.h5").path
        var r = try cli.seal(["knowledge", "train", "--config", path, "--out", out])
        XCTAssertEqual(r.status, 0, r.err)
        // With this seed round 0 keeps self-edits: its update is an adapter on the GGUF base.
        let ckpt = out + ".ckpt/round_000"
        let a = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: ckpt + "/adapter_config.json"))) as! [String: Any]
        XCTAssertTrue((a["base_model_name_or_path"] as? String ?? "").hasSuffix("tinystories-spm.gguf"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: ckpt + "/adapter_model.safetensors"))
        // The second run replays the checkpoint onto the GGUF base and evaluates, training nothing.
        r = try cli.seal(["knowledge", "train", "--config", path, "--out", out])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.out.contains("seal_round_1"), r.out)
    }

    /// A GGUF whose tokenizer seal cannot read: a named error (file, key) and exit status 1, not a crash.
    func testBadGGUFTokenizerIsANamedError() throws {
        var data = try Data(contentsOf: URL(fileURLWithPath: Self.tiny))
        // tokenizer.ggml.model = "llama" (a string: type 8, length 5) becomes "bert5".
        var pattern = Data("tokenizer.ggml.model".utf8)
        pattern.append(contentsOf: [8, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0])
        pattern.append(contentsOf: Array("llama".utf8))
        let range = try XCTUnwrap(data.range(of: pattern))
        data.replaceSubrange(range.upperBound - 5..<range.upperBound, with: Array("bert5".utf8))
        let bad = cli.tmp("badtok").appendingPathComponent("bad.gguf")
        try data.write(to: bad)
        for args in [["tokenize", "--model", bad.path, "--text", "hi"], ["generate", "--model", bad.path, "--prompt", "hi", "--max-new-tokens", "2"],
                     ["model", "convert", bad.path, "--out", bad.deletingLastPathComponent().appendingPathComponent("x").path]] {
            let r = try cli.seal(args)
            XCTAssertEqual(r.status, 1, "\(args): \(r.err)")
            XCTAssertFalse(r.crashed)
            XCTAssertTrue(r.err.contains("bad.gguf") && r.err.contains("tokenizer.ggml.model") && r.err.contains("'bert5'"), "\(args): \(r.err)")
        }
    }
}
