import Foundation
import XCTest

/// `seal finetune` as a user runs it: adapters it writes load back in `score`/`generate`; bad data and diverging
/// runs fail cleanly and write nothing.
final class FinetuneCLITests: XCTestCase {
    let cli = CLIHarness()

    func write(_ s: String, _ name: String) -> String {
        let d = cli.tmp("ft")
        let f = d.appendingPathComponent(name)
        try! s.write(to: f, atomically: true, encoding: .utf8)
        return f.path
    }

    let rows = """
    {"text": "Once upon a time, there was a little cat named Tom. Tom loved to eat fish."}
    {"prompt": "Q: What did Tom love to eat?\\nA:", "completion": " Tom loved to eat fish."}

    {"text": "The dog ran to the park and played with a red ball all day."}
    """

    func testLoRARunWritesAdapterThatLowersLoss() throws {
        let data = write(rows, "train.jsonl")
        let out = cli.tmp("adapter").appendingPathComponent("a").path
        let r = try cli.seal(["finetune", "--model", CLIHarness.tiny, "--data", data, "--out", out, "--lora-rank", "8",
                              "--lora-targets", "q_proj,v_proj,gate_proj", "--lr", "3e-3", "--epochs", "8", "--no-shuffle", "--json"])
        XCTAssertEqual(r.status, 0, r.err)
        let steps = r.out.split(separator: "\n").map { try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        XCTAssertEqual(steps.count, 24)
        XCTAssertEqual(Set(steps[0].keys), ["step", "loss", "lr", "tokens", "grad_norm", "seconds"])
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/adapter_model.safetensors"))
        let text = write("Once upon a time, there was a little cat named Tom. Tom loved to eat fish.", "t.txt")
        let base = try cli.seal(["score", "--model", CLIHarness.tiny, "--text-file", text, "--json"])
        let adapted = try cli.seal(["score", "--model", CLIHarness.tiny, "--adapter", out, "--text-file", text, "--json"])
        XCTAssertEqual(adapted.status, 0, adapted.err)
        let b = try JSONSerialization.jsonObject(with: Data(base.out.utf8)) as! [String: Any]
        let a = try JSONSerialization.jsonObject(with: Data(adapted.out.utf8)) as! [String: Any]
        XCTAssertLessThan(a["mean_nll"] as! Double, (b["mean_nll"] as! Double) - 0.3, "training on the text should lower its NLL")
        let g = try cli.seal(["generate", "--model", CLIHarness.tiny, "--adapter", out, "--prompt", "Once upon a time", "--max-new-tokens", "8", "--json"])
        XCTAssertEqual(g.status, 0, g.err)
    }

    func testFullFinetuneWritesLoadableModel() throws {
        let data = write(rows, "train.jsonl")
        let out = cli.tmp("full").appendingPathComponent("m").path
        let r = try cli.seal(["finetune", "--model", CLIHarness.tiny, "--data", data, "--out", out, "--full", "--lr", "1e-3", "--steps", "3"])
        XCTAssertEqual(r.status, 0, r.err)
        let info = try cli.seal(["model", "info", out, "--json"])
        XCTAssertEqual(info.status, 0, info.err)
    }

    func testBadData() throws {
        let bad = write("{\"text\": \"fine\"}\n{\"text\": 3}\n", "bad.jsonl")
        var r = try cli.seal(["finetune", "--model", CLIHarness.tiny, "--data", bad, "--out", cli.tmp("x").path + "/a"])
        XCTAssertEqual(r.status, 1); XCTAssertTrue(r.err.contains("bad.jsonl:2"), r.err)
        let broken = write("{\"text\": \"fine\"}\n{not json\n", "broken.jsonl")
        r = try cli.seal(["finetune", "--model", CLIHarness.tiny, "--data", broken, "--out", cli.tmp("x").path + "/a"])
        XCTAssertEqual(r.status, 1); XCTAssertTrue(r.err.contains("broken.jsonl:2"), r.err)
        let empty = write("\n\n", "empty.jsonl")
        r = try cli.seal(["finetune", "--model", CLIHarness.tiny, "--data", empty, "--out", cli.tmp("x").path + "/a"])
        XCTAssertEqual(r.status, 1); XCTAssertTrue(r.err.contains("no training rows"), r.err)
        let ok = write(rows, "ok.jsonl")
        r = try cli.seal(["finetune", "--model", CLIHarness.tiny, "--data", ok, "--out", cli.tmp("x").path + "/a", "--lora-targets", "q_proj,wq"])
        XCTAssertEqual(r.status, 1); XCTAssertTrue(r.err.contains("wq"), r.err)
        for x in [r] { XCTAssertFalse(x.crashed) }
    }

    func testLongRowsAreCutAsDocumented() throws {
        let long = "{\"text\": \"" + String(repeating: "the cat sat on the mat. ", count: 200) + "\"}\n"
        let data = write(long, "long.jsonl")
        let r = try cli.seal(["finetune", "--model", CLIHarness.tiny, "--data", data, "--out", cli.tmp("x").path + "/a", "--steps", "1"])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.err.contains("1 cut to 512 tokens"), r.err)
    }

    func testDivergenceStopsWithoutWriting() throws {
        let data = write(rows, "train.jsonl")
        let out = cli.tmp("nan").appendingPathComponent("a").path
        let r = try cli.seal(["finetune", "--model", CLIHarness.tiny, "--data", data, "--out", out, "--full", "--lr", "1e30",
                              "--max-grad-norm", "0", "--steps", "4", "--no-shuffle"])
        XCTAssertEqual(r.status, 1, r.out)
        XCTAssertTrue(r.err.contains("not finite"), r.err)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out), "nothing may be written after a non-finite loss")
    }

    /// Issue 14: a {"text"} row is transformers' tokenizer(text): no EOS unless --text-eos (the step's target count
    /// tells); a row with both text and prompt is refused by line; CRLF data trains like LF data.
    func testTextRowsHaveNoEOSUnlessAsked() throws {
        let text = "Once upon a time, there was a little cat named Tom."
        let tok = try cli.seal(["tokenize", "--model", CLIHarness.tiny, "--text", text, "--json"])
        XCTAssertEqual(tok.status, 0, tok.err)
        let ids = (try JSONSerialization.jsonObject(with: Data(tok.out.utf8)) as! [String: Any])["ids"] as! [Int]
        func targets(_ extra: [String], data: String) throws -> Int {
            let r = try cli.seal(["finetune", "--model", CLIHarness.tiny, "--data", data, "--out", cli.tmp("eos").path + "/a",
                                  "--steps", "1", "--no-shuffle", "--json"] + extra)
            XCTAssertEqual(r.status, 0, r.err)
            let step = try JSONSerialization.jsonObject(with: Data(r.out.split(separator: "\n")[0].utf8)) as! [String: Any]
            return step["tokens"] as! Int
        }
        let lf = write("{\"text\": \"\(text)\"}\n", "lf.jsonl")
        XCTAssertEqual(try targets([], data: lf), ids.count - 1)
        XCTAssertEqual(try targets(["--text-eos"], data: lf), ids.count)
        let crlf = write("\r\n{\"text\": \"\(text)\"}\r\n", "crlf.jsonl")
        XCTAssertEqual(try targets([], data: crlf), ids.count - 1)
        let both = write("{\"text\": \"a\"}\n\n{\"text\": \"b\", \"prompt\": \"p\", \"completion\": \"c\"}\n", "both.jsonl")
        let r = try cli.seal(["finetune", "--model", CLIHarness.tiny, "--data", both, "--out", cli.tmp("x").path + "/a"])
        XCTAssertEqual(r.status, 1); XCTAssertTrue(r.err.contains("both.jsonl:3"), r.err)
    }
}
