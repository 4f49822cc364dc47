import Foundation
import XCTest

/// `seal toyworld`, `seal tokenizer train` and `seal pretrain` as a user runs them: the files they promise, the
/// same bytes twice, and bad input as a message naming what is wrong with exit code 1.
final class ToyWorldCLITests: XCTestCase {
    let cli = CLIHarness()

    func testGenerateWritesTheSameFilesTwice() throws {
        let a = cli.tmp("tw-a").path, b = cli.tmp("tw-b").path
        for d in [a, b] {
            let r = try cli.seal(["toyworld", "generate", "--out", d, "--seed", "3", "--known", "30", "--new", "8", "--eval", "3"])
            XCTAssertEqual(r.status, 0, r.err)
        }
        for f in ["new_train.json", "new_eval.json", "known_qa.json", "known_bio_only.json", "corpus.jsonl", "people.json"] {
            let x = try Data(contentsOf: URL(fileURLWithPath: a + "/" + f)), y = try Data(contentsOf: URL(fileURLWithPath: b + "/" + f))
            XCTAssertEqual(x, y, f)
        }
        let train = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: a + "/new_train.json"))) as! [[String: Any]]
        XCTAssertEqual(train.count, 5)
        XCTAssertEqual(Set(train[0].keys), ["title", "context", "questions"])
    }

    func testTokenizerTrainWritesHFFiles() throws {
        let d = cli.tmp("tok")
        let text = d.appendingPathComponent("a.txt")
        try String(repeating: "the cat sat on the mat with another cat. ", count: 50).write(to: text, atomically: true, encoding: .utf8)
        let out = d.appendingPathComponent("tok").path
        let r = try cli.seal(["tokenizer", "train", "--input", text.path, "--vocab-size", "280", "--out", out])
        XCTAssertEqual(r.status, 0, r.err)
        for f in ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/" + f), f)
        }
        let cfg = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/tokenizer_config.json"))) as! [String: Any]
        XCTAssertEqual(cfg["eos_token"] as? String, "<|endoftext|>")
    }

    func testBadInputsFailWithAMessage() throws {
        var r = try cli.seal(["toyworld", "generate", "--out", cli.tmp("x").path, "--known", "100000"])
        XCTAssertEqual(r.status, 1); XCTAssertTrue(r.err.contains("name pools"), r.err)
        r = try cli.seal(["toyworld", "generate", "--out", cli.tmp("x").path, "--new", "4", "--eval", "9"])
        XCTAssertEqual(r.status, 1); XCTAssertTrue(r.err.contains("eval split"), r.err)
        r = try cli.seal(["tokenizer", "train", "--input", "/nonexistent/file.txt", "--vocab-size", "300", "--out", cli.tmp("x").path])
        XCTAssertEqual(r.status, 1); XCTAssertTrue(r.err.contains("/nonexistent/file.txt"), r.err)
        let empty = cli.tmp("empty").appendingPathComponent("e.txt")
        try "".write(to: empty, atomically: true, encoding: .utf8)
        r = try cli.seal(["tokenizer", "train", "--input", empty.path, "--vocab-size", "100", "--out", cli.tmp("x").path])
        XCTAssertEqual(r.status, 1); XCTAssertTrue(r.err.contains("vocab size"), r.err)
        let cfg = cli.tmp("cfg").appendingPathComponent("p.toml")
        try "[model]\nhidden = 3\n".write(to: cfg, atomically: true, encoding: .utf8)
        r = try cli.seal(["pretrain", "--config", cfg.path])
        XCTAssertEqual(r.status, 1); XCTAssertTrue(r.err.contains("model.hidden"), r.err)
        r = try cli.seal(["pretrain", "--config", "/nonexistent/p.toml"])
        XCTAssertEqual(r.status, 1); XCTAssertTrue(r.err.contains("/nonexistent/p.toml"), r.err)
        r = try cli.seal(["toyworld", "eval", "--model", CLIHarness.tiny, "--passages", "/nonexistent/x.json"])
        XCTAssertEqual(r.status, 1); XCTAssertTrue(r.err.contains("/nonexistent/x.json"), r.err)
        for x in [r] { XCTAssertFalse(x.crashed) }
    }

    /// The committed toy model loads, and `seal pretrain config` documents every key the committed config sets.
    func testCommittedConfigUsesOnlyDocumentedKeys() throws {
        let doc = try cli.seal(["pretrain", "config"])
        XCTAssertEqual(doc.status, 0, doc.err)
        let toml = try String(contentsOf: CLIHarness.root.appendingPathComponent("jobs/toyworld-pretrain.toml"), encoding: .utf8)
        var section = ""
        for line in toml.split(separator: "\n") {
            let t = line.trimmingCharacters(in: .whitespaces)
            if t.hasPrefix("#") || t.isEmpty { continue }
            if t.hasPrefix("[") { section = String(t.dropFirst().dropLast()); continue }
            let key = section + "." + t.split(separator: "=")[0].trimmingCharacters(in: .whitespaces)
            XCTAssertTrue(doc.out.contains("`\(key)`"), "\(key) is not documented by seal pretrain config")
        }
    }

    /// `seal pretrain`'s keys have ranges too (non-finite floats, counts past the name pools, an overflowing sum of
    /// people), and `toyworld generate`'s people counts cannot overflow: each an error naming what is wrong.
    func testPretrainRangesAndHugeCounts() throws {
        let out = cli.tmp("pt-bad").path
        for (o, key) in [("train.lr=nan", "train.lr"), ("train.lr=1e400", "train.lr"), ("corpus.qa_fraction=inf", "corpus.qa_fraction"),
                         ("model.rope_theta=0", "model.rope_theta"), ("world.known=9223372036854775807", "world.known"),
                         ("model.layers=100000", "model.layers"), ("train.epochs=1e300", "train.epochs"), ("run.threads=100000", "run.threads"),
                         ("train.beta2=1", "train.beta2"), ("eval.samples=0", "eval.samples"), ("world.seed=-1", "world.seed")] {
            let r = try cli.seal(["pretrain", "--set", o, "--set", "out.dir=\"\(out)\""])
            XCTAssertEqual(r.status, 1, "\(o): \(r.err)")
            XCTAssertTrue(r.err.contains("'\(key)'"), "\(o): \(r.err)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/config.json"))
        for args in [["--known", "9223372036854775807"], ["--known", "10", "--new", "9223372036854775807", "--practice", "9223372036854775807"]] {
            let r = try cli.seal(["toyworld", "generate", "--out", cli.tmp("tw-huge").path] + args)
            XCTAssertEqual(r.status, 1, "\(args): \(r.err)")
            XCTAssertTrue(r.err.contains("name pools"), "\(args): \(r.err)")
        }
        // --threads has the bound run.threads has (OpenBLAS takes an Int32).
        for t in ["100000", "9223372036854775807", "0", "-1"] {
            let r = try cli.seal(["pretrain", "--threads", t, "--set", "out.dir=\"\(out)\""])
            XCTAssertNotEqual(r.status, 0, t)
            XCTAssertTrue(r.err.contains("--threads"), "\(t): \(r.err)")
        }
    }

}
