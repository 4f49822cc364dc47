import Foundation
import XCTest
import SealTestSupport
import SealKernels

/// The `seal` program as a user runs it: every error is a message naming the file and a non-zero exit, never a
/// crash (a crash would exit by signal, which `terminationReason` reports as `.uncaughtSignal`).
/// Runs the built seal binary.
struct CLIHarness {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let shared = root.deletingLastPathComponent().appendingPathComponent("shared")
    static var tiny: String { shared.appendingPathComponent("models/tinystories-656k").path }

    /// The seal binary beside the test bundle (both are products of the same build).
    static var binary: URL {
        let dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for candidate in [dir, dir.deletingLastPathComponent()] {
            let u = candidate.appendingPathComponent("seal")
            if FileManager.default.isExecutableFile(atPath: u.path) { return u }
        }
        return root.appendingPathComponent(".build/release/seal")
    }

    struct Result { var status: Int32; var out: String; var err: String; var crashed: Bool }

    func seal(_ args: [String], env: [String: String] = [:]) throws -> Result {
        try Self.run(Self.binary, args, env: env)
    }

    /// Runs a program with extra environment variables and returns its status and output.
    static func run(_ executable: URL, _ args: [String], env: [String: String] = [:]) throws -> Result {
        let p = Process()
        p.executableURL = executable
        p.arguments = args
        var e = ProcessInfo.processInfo.environment
        for (k, v) in env { e[k] = v }
        p.environment = e
        let o = Pipe(), er = Pipe()
        p.standardOutput = o
        p.standardError = er
        try p.run()
        let od = o.fileHandleForReading.readDataToEndOfFile()
        let ed = er.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Result(status: p.terminationStatus, out: String(decoding: od, as: UTF8.self),
                      err: String(decoding: ed, as: UTF8.self), crashed: p.terminationReason == .uncaughtSignal)
    }

    func tmp(_ tag: String) -> URL {
        let u = scratchRoot.appendingPathComponent("seal-cli-\(tag)-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: u, withIntermediateDirectories: true)
        return u
    }

}

final class CLITests: XCTestCase {
    let cli = CLIHarness()
    static var tiny: String { CLIHarness.tiny }
    static var root: URL { CLIHarness.root }
    static var binary: URL { CLIHarness.binary }
    func seal(_ args: [String], env: [String: String] = [:]) throws -> CLIHarness.Result { try cli.seal(args, env: env) }
    func tmp(_ tag: String) -> URL { cli.tmp(tag) }

    func testModelInfoJSONAndBLASCore() throws {
        let r = try seal(["model", "info", Self.tiny, "--json"])
        XCTAssertEqual(r.status, 0, r.err)
        let j = try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as! [String: Any]
        XCTAssertEqual(j["model_type"] as? String, "llama")
        XCTAssertEqual(j["layers"] as? Int, 2)
        XCTAssertEqual(j["hidden_size"] as? Int, 128)
        XCTAssertEqual(j["heads"] as? Int, 8)
        XCTAssertEqual(j["kv_heads"] as? Int, 4)
        XCTAssertEqual(j["head_dim"] as? Int, 16)
        XCTAssertEqual(j["vocab_size"] as? Int, 2048)
        XCTAssertEqual(j["parameters"] as? Int, 656_000)
        XCTAssertEqual(j["tied_embeddings"] as? Bool, true)
        XCTAssertEqual(j["dtype_on_disk"] as? String, "float32")
        // With no OPENBLAS_CORETYPE from the user, seal picks the widest kernels the CPU has.
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "OPENBLAS_CORETYPE"); env.removeValue(forKey: "SEAL_BLAS_REEXEC")
        let best = BLASRuntime.bestCore(cpuFlags: BLASRuntime.cpuFlags())
        let p = Process()
        p.executableURL = Self.binary
        p.arguments = ["model", "info", Self.tiny, "--json"]
        p.environment = env
        let o = Pipe(); p.standardOutput = o
        try p.run(); let d = o.fileHandleForReading.readDataToEndOfFile(); p.waitUntilExit()
        let k = try JSONSerialization.jsonObject(with: d) as! [String: Any]
        // What matters is the width, not the name: OpenBLAS names Zen 4's AVX-512 kernels Cooperlake and Intel's
        // SkylakeX or Cooperlake, and may pick a wider set than seal's own choice. Never Prescott where AVX exists.
        let core = try XCTUnwrap(k["blas_core"] as? String)
        if let best {
            XCTAssertGreaterThanOrEqual(BLASRuntime.rank(ofCore: core), BLASRuntime.rank(ofCore: best),
                                        "OpenBLAS runs \(core), narrower than the \(best) this CPU allows")
            XCTAssertNotEqual(core.lowercased(), "prescott")
        }
    }

    func testThreadsFromSlurmAndFlag() throws {
        let r = try seal(["model", "info", Self.tiny, "--json"], env: ["SLURM_CPUS_PER_TASK": "1"])
        let j = try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as! [String: Any]
        XCTAssertEqual(j["threads"] as? Int, 1)
        let r2 = try seal(["model", "info", Self.tiny, "--json", "--threads", "2"], env: ["SLURM_CPUS_PER_TASK": "1"])
        let j2 = try JSONSerialization.jsonObject(with: Data(r2.out.utf8)) as! [String: Any]
        XCTAssertEqual(j2["threads"] as? Int, 2)
        XCTAssertEqual(BLASRuntime.defaultThreads(explicit: nil, environment: ["SLURM_CPUS_PER_TASK": "3"]), 3)
        XCTAssertEqual(BLASRuntime.defaultThreads(explicit: 5, environment: ["SLURM_CPUS_PER_TASK": "3"]), 5)
        // A broken SLURM_CPUS_PER_TASK (huge, negative, not a number) never traps: every online core, with a warning.
        let cores = BLASRuntime.defaultThreads(explicit: nil, environment: [:])
        for v in ["99999999999", "9223372036854775807", "-4", "0", "two", ""] {
            XCTAssertEqual(BLASRuntime.defaultThreads(explicit: nil, environment: ["SLURM_CPUS_PER_TASK": v]), cores, v)
        }
        let huge = try seal(["model", "info", Self.tiny, "--json"], env: ["SLURM_CPUS_PER_TASK": "99999999999"])
        XCTAssertEqual(huge.status, 0, huge.err)
        XCTAssertTrue(huge.err.contains("SLURM_CPUS_PER_TASK"), huge.err)
        let bad = try seal(["model", "info", Self.tiny, "--threads", "0"])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertFalse(bad.crashed)
    }

    func testScoreJSON() throws {
        let dir = tmp("score")
        let f = dir.appendingPathComponent("t.txt")
        try "Once upon a time, there was a cat.".write(to: f, atomically: true, encoding: .utf8)
        let r = try seal(["score", "--model", Self.tiny, "--text-file", f.path, "--json"])
        XCTAssertEqual(r.status, 0, r.err)
        let j = try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as! [String: Any]
        let ids = j["token_ids"] as! [Int]
        let nll = j["token_nll"] as! [Double]
        XCTAssertEqual(ids.first, 1, "tinystories adds <|start_story|>")
        XCTAssertEqual(nll.count, ids.count - 1)
        XCTAssertEqual(j["tokens"] as? Int, ids.count)
        XCTAssertEqual(j["mean_nll"] as! Double, nll.reduce(0, +) / Double(nll.count), accuracy: 1e-9)
        XCTAssertTrue(nll.allSatisfy { $0 >= 0 && $0.isFinite })
    }

    func testInitThenInfoRoundTrip() throws {
        let dir = tmp("init")
        let out = dir.appendingPathComponent("m").path
        let r = try seal(["model", "init", "--config", Self.root.appendingPathComponent("jobs/demo-model.json").path,
                          "--out", out, "--seed", "3", "--dtype", "bf16", "--tokenizer", Self.tiny])
        XCTAssertEqual(r.status, 0, r.err)
        let info = try seal(["model", "info", out, "--json"])
        let j = try JSONSerialization.jsonObject(with: Data(info.out.utf8)) as! [String: Any]
        XCTAssertEqual(j["dtype_on_disk"] as? String, "bfloat16")
        XCTAssertEqual(j["layers"] as? Int, 4)
        let tok = try seal(["tokenize", "--model", out, "--text", "Once upon a time", "--json"])
        XCTAssertEqual(tok.status, 0, tok.err)
    }

    /// Bad inputs end with a message naming the file and exit code 1 — not a crash, not a hang.
    func testBadInputsExitCleanly() throws {
        let dir = tmp("bad")
        let missing = try seal(["model", "info", dir.appendingPathComponent("nope").path])
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(missing.err.contains("config.json"), missing.err)

        let cfg = dir.appendingPathComponent("config.json")
        try #"{"model_type": "mamba", "hidden_size": 8}"#.write(to: cfg, atomically: true, encoding: .utf8)
        let unknown = try seal(["model", "info", dir.path])
        XCTAssertEqual(unknown.status, 1)
        XCTAssertTrue(unknown.err.contains("mamba") && unknown.err.contains("config.json"), unknown.err)

        let badTok = dir.appendingPathComponent("tokdir")
        try FileManager.default.createDirectory(at: badTok, withIntermediateDirectories: true)
        try #"{"model": {"type": "WordPiece", "vocab": {}}}"#.write(to: badTok.appendingPathComponent("tokenizer.json"), atomically: true, encoding: .utf8)
        let tok = try seal(["tokenize", "--model", badTok.path, "--text", "hi"])
        XCTAssertEqual(tok.status, 1)
        XCTAssertTrue(tok.err.contains("tokenizer.json"), tok.err)

        let noText = try seal(["score", "--model", Self.tiny, "--text-file", dir.appendingPathComponent("none.txt").path])
        XCTAssertEqual(noText.status, 1)
        XCTAssertTrue(noText.err.contains("none.txt"), noText.err)

        let badIds = try seal(["detokenize", "--model", Self.tiny, "--ids", "1 99999"])
        XCTAssertEqual(badIds.status, 1)
        XCTAssertTrue(badIds.err.contains("99999"), badIds.err)

        let badStop = try seal(["generate", "--model", Self.tiny, "--prompt", "Once", "--stop-token", "<|nope|>"])
        XCTAssertEqual(badStop.status, 1)
        XCTAssertTrue(badStop.err.contains("<|nope|>"), badStop.err)
        let goodStop = try seal(["generate", "--model", Self.tiny, "--prompt", "Once", "--stop-token", "<|end_story|>", "--max-new-tokens", "4"])
        XCTAssertEqual(goodStop.status, 0, goodStop.err)
        for r in [missing, unknown, tok, noText, badIds, badStop] { XCTAssertFalse(r.crashed) }
    }
}
