import Foundation
import SealEngine
import SealRuntime
import XCTest

/// The engine's numbers, pinned: small runs of the shipped jobs under `mpirun -np 2` at fixed seeds, every
/// per-sample reward, self-edit, status, policy-update loss and eval-arm answer compared bit for bit with fixtures
/// recorded before the engine was redesigned (Tests/Fixtures/golden/). A refactor of the engine that changes any
/// number a run writes fails here; a change that is meant to change numbers re-records them on purpose:
///   SEAL_GOLDEN_RECORD=1 swift test -c release --skip-build --filter GoldenRunTests
/// and says why in its commit.
///
/// What is compared is what a run computes, not how it ran: timings, ranks and the host are left out. The BLAS
/// kernels are pinned (OPENBLAS_CORETYPE) so that a machine whose OpenBLAS would pick other kernels (Zen 4's
/// Cooperlake, say) computes the same bits; seal's own kernels take the AVX-512 path on every machine of this
/// project (the fixtures record it, and a machine without AVX-512 is told why it cannot match).
final class GoldenRunTests: XCTestCase {
    let cli = CLIHarness()

    static let fixtures = CLIHarness.root.appendingPathComponent("Tests/Fixtures/golden")
    static let pinnedCore = "SkylakeX"

    /// One pinned run: the job, its overrides, and the fixture it must reproduce.
    struct Case {
        var fixture: String
        var command: [String]
        var job: String
        var overrides: [String]
    }

    static let cases: [Case] = [
        // ReSTEM on the toy world: sampling, inner loops, top-1, two data-parallel policy updates, every arm.
        Case(fixture: "toyworld-smoke-restem", command: ["knowledge", "train"], job: "jobs/toyworld-smoke.toml", overrides: []),
        // The answer-likelihood reward, SQuAD passages, base/passage/self_edit before training and after it.
        Case(fixture: "knowledge-tiny-restem", command: ["knowledge", "train"], job: "jobs/knowledge-tiny.toml",
             overrides: ["eval.before_train=true"]),
        // Continued pretraining over the eval split (a LoRA finetune of the union, then the cpt arm).
        Case(fixture: "knowledge-tiny-cpt", command: ["knowledge", "train"], job: "jobs/knowledge-tiny.toml",
             overrides: ["run.experiment=cpt", "knowledge.eval_count=3", "cpt.samples=2", "cpt.epochs=2"]),
        // Continual learning: sequential self-edits merged into the policy, the forgetting matrix.
        Case(fixture: "knowledge-tiny-continual", command: ["knowledge", "train"], job: "jobs/knowledge-tiny.toml",
             overrides: ["run.experiment=continual", "knowledge.eval_count=4", "continual.sequences=2", "continual.length=2"]),
    ]

    func testRunsReproduceTheirFixtures() throws {
        let record = ProcessInfo.processInfo.environment["SEAL_GOLDEN_RECORD"] == "1"
        let isa = Self.hasAVX512() ? "avx512f" : "no-avx512f"
        for c in Self.cases {
            let out = cli.tmp("golden").appendingPathComponent(c.fixture + ".h5").path
            let args = c.command + ["--config", CLIHarness.root.appendingPathComponent(c.job).path, "--out", out, "--quiet",
                                    "--set", "run.threads=1"] + c.overrides.flatMap { ["--set", $0] }
            let r = try MPIRunner.run(ranks: 2, args, timeout: 600, env: ["OPENBLAS_CORETYPE": Self.pinnedCore])
            XCTAssertFalse(r.timedOut, "\(c.fixture) timed out")
            XCTAssertEqual(r.status, 0, "\(c.fixture): \(r.err)")
            guard r.status == 0 else { continue }
            var doc = try Self.canonical(out)
            doc["isa"] = isa
            doc["job"] = c.job
            doc["overrides"] = c.overrides
            let text = try Self.json(doc)
            let url = Self.fixtures.appendingPathComponent(c.fixture + ".json")
            if record {
                try FileManager.default.createDirectory(at: Self.fixtures, withIntermediateDirectories: true)
                try text.write(to: url, atomically: true, encoding: .utf8)
                continue
            }
            let want = try String(contentsOf: url, encoding: .utf8)
            guard let stored = try JSONSerialization.jsonObject(with: Data(want.utf8)) as? [String: Any] else {
                XCTFail("\(url.path) is not a JSON object"); continue
            }
            if let storedISA = stored["isa"] as? String, storedISA != isa {
                XCTFail("\(c.fixture): the fixture was recorded on a CPU with \(storedISA), this one has \(isa); seal's kernels take another path here, so the bits cannot match. Re-record on this machine kind to compare (SEAL_GOLDEN_RECORD=1).")
                continue
            }
            if text != want {
                XCTFail("\(c.fixture): the run's numbers differ from \(url.path): " + Self.firstDifference(want, text))
            }
        }
    }

    // MARK: canonical form

    /// Every number a run computed, as text that is exact (each double as its shortest round-trip decimal, NaN as
    /// "nan") and independent of rank count, host and timing.
    static func canonical(_ path: String) throws -> [String: Any] {
        let m = try MetricsReader(path: path)
        defer { try? m.close() }
        func d(_ x: Double) -> String { x.isNaN ? "nan" : "\(x)" }
        func attributes(_ a: [String: HDF5Value]) -> [String: String] {
            var out: [String: String] = [:]
            for (k, v) in a where !k.hasPrefix("seconds") && !["world_size", "created", "finished", "written", "host"].contains(k) {
                switch v {
                case .double(let x): out[k] = d(x)
                case .int(let i): out[k] = String(i)
                case .string(let s): out[k] = s
                }
            }
            return out
        }
        var rounds: [[String: Any]] = []
        for r in try m.rounds() {
            let round = try m.round(r)
            rounds.append([
                "round": r,
                "completed": round.completed,
                "attributes": attributes(round.attributes),
                "sft_loss": round.sftSteps.map { "\($0.step) \(d($0.loss))" },
                "samples": round.samples.map { s -> [String: Any] in
                    ["context": s.contextID, "sample": s.sampleIndex, "reward": d(s.reward), "baseline": d(s.baselineScore),
                     "adapted": d(s.adaptedScore), "inner_loss": d(s.innerLoss), "tokens": s.tokens, "self_edit": s.selfEdit,
                     "status": s.status, "kept": s.kept]
                },
            ])
        }
        var evals: [[String: Any]] = []
        for arm in try m.evalArms() {
            let e = try m.eval(arm)
            evals.append([
                "arm": arm, "accuracy": d(e.accuracy), "n_questions": e.nQuestions, "attributes": attributes(e.attributes),
                "answers": e.records.map { ["context": $0.contextID, "question": $0.question, "gold": $0.gold,
                                            "prediction": $0.prediction, "correct": $0.correct, "note": $0.note] as [String: Any] },
            ])
        }
        return ["status": try m.status(), "rounds": rounds, "evals": evals]
    }

    static func json(_ doc: [String: Any]) throws -> String {
        let data = try JSONSerialization.data(withJSONObject: doc, options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes])
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    /// The first line where two canonical texts differ, with its neighbours, for the failure message.
    static func firstDifference(_ a: String, _ b: String) -> String {
        let la = a.split(separator: "\n", omittingEmptySubsequences: false), lb = b.split(separator: "\n", omittingEmptySubsequences: false)
        for i in 0..<max(la.count, lb.count) {
            let x = i < la.count ? String(la[i]) : "<end>", y = i < lb.count ? String(lb[i]) : "<end>"
            if x != y {
                let context = la[max(0, i - 3)..<min(la.count, i)].joined(separator: "\n")
                return "line \(i + 1):\n\(context)\n- fixture: \(x.prefix(400))\n+ this run: \(y.prefix(400))"
            }
        }
        return "(no line differs)"
    }

    static func hasAVX512() -> Bool {
        guard let cpu = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return false }
        return cpu.split(separator: "\n").first { $0.hasPrefix("flags") }?.split(separator: " ").contains("avx512f") ?? false
    }
}
