import Foundation
import XCTest
import SealEngine
import SealRuntime
import SealTestSupport
import SealTrain

/// The engine's pieces without mpirun (one process, MPI as a singleton): settings decoding and its errors, and the
/// journaled work runner — fresh, resumed from a partial journal, a torn last line, a damaged one.
final class EngineTests: XCTestCase {
    static let mpi: MPIRuntime = try! MPIRuntime()

    func settings(_ overrides: [String]) throws -> EngineSettings {
        try EngineSettings(try ResolvedConfig.resolve(schema: EngineConfig.schema, file: nil, overrides: ["model.path=/m"] + overrides))
    }

    func error(_ overrides: [String]) -> String {
        do { _ = try settings(overrides); return "" } catch { return "\(error)" }
    }

    // MARK: settings

    func testSettingsAreTyped() throws {
        var s = try settings([])
        XCTAssertEqual(s.model.path, "/m")
        XCTAssertEqual(s.run.seed, 0)
        XCTAssertNil(s.run.contextsPerRound, "0 means every context")
        XCTAssertNil(s.run.threads)
        XCTAssertEqual(s.run.experiment, .restem)
        XCTAssertEqual(s.reward, .adapted)
        XCTAssertEqual(s.filter, .top1)
        XCTAssertEqual(s.inner.lora.targets, [.q, .v])
        XCTAssertEqual(s.inner.schedule, .linear)
        XCTAssertEqual(s.policyUpdate.recipe.lora?.rank, 64)
        XCTAssertEqual(s.policyUpdate.recipe.maxGradNorm, 1.0)
        XCTAssertNil(s.policyUpdate.replay)
        XCTAssertEqual(s.eval.arms, [EvalArm(name: "base", kind: .none), EvalArm(name: "passage", kind: .context),
                                     EvalArm(name: "self_edit", kind: .selfEdits)])
        XCTAssertNil(s.eval.samples, "0 means sampling.samples")

        s = try settings(["run.seed=-1", "run.contexts_per_round=7", "filter.mode=threshold", "filter.threshold=0.25",
                          "reward.kind=gain", "sft.max_grad_norm=0", "sft.micro_batch=3", "sft.batch=2", "cpt.full=true",
                          "run.experiment=cpt", "cpt.source=external", "eval.arms=[\"external\", \"context\"]", "eval.samples=4",
                          "sft.replay_file=/r.jsonl", "sft.replay_fraction=0.5"])
        XCTAssertEqual(s.run.seed, UInt64.max, "a negative seed is its two's complement, as the seed derivations always took it")
        XCTAssertEqual(s.run.contextsPerRound, 7)
        XCTAssertEqual(s.filter, .threshold(0.25))
        XCTAssertEqual(s.reward, .gain)
        XCTAssertNil(s.policyUpdate.recipe.maxGradNorm, "0: no clipping")
        XCTAssertEqual(s.policyUpdate.recipe.micro, 3)
        XCTAssertEqual(s.policyUpdate.recipe.batch, 3, "a step holds at least one micro-batch")
        XCTAssertTrue(s.cpt.full)
        XCTAssertNil(s.cpt.recipe.lora)
        XCTAssertEqual(s.cpt.source, .external)
        XCTAssertEqual(s.eval.arms.map(\.kind), [.external, .context])
        XCTAssertEqual(s.eval.samples, 4)
        XCTAssertEqual(s.policyUpdate.replay?.file, "/r.jsonl")
        XCTAssertEqual(s.policyUpdate.replay?.fraction, 0.5)
    }

    func testSettingsErrorsNameTheKey() throws {
        XCTAssertTrue(error(["model.path="]).contains("model.path"))
        XCTAssertTrue(error(["sft.replay_fraction=0.3"]).contains("sft.replay_file is not set"))
        XCTAssertTrue(error(["sft.replay_file=/r.jsonl"]).contains("sft.replay_fraction is 0"))
        // What the schema's ranges refuse comes first, naming the key as well.
        XCTAssertTrue(error(["filter.mode=best"]).contains("filter.mode"))
        XCTAssertTrue(error(["inner.schedule=step"]).contains("inner.schedule"))
        XCTAssertTrue(error(["run.experiment=ppo"]).contains("run.experiment"))
        XCTAssertTrue(error(["eval.arms=[\"oracle\"]"]).contains("eval.arms"))
        // The error is typed: the key at fault is a payload, not only words in a message.
        XCTAssertThrowsError(try settings(["sft.replay_file=/r.jsonl"])) { e in
            guard case EngineError.setting(let key, _)? = e as? EngineError else { return XCTFail("\(e)") }
            XCTAssertEqual(key, "sft.replay_file")
        }
    }

    func testSampleStatusRoundTripsThroughItsRecordedText() {
        for s in [SampleStatus.ok, .invalid("no JSON object"), .diverged("step 3: loss nan")] {
            XCTAssertEqual(SampleStatus(recorded: s.description), s)
        }
        XCTAssertEqual(SampleStatus.diverged("x").description, "diverged: x")
        XCTAssertEqual(SampleStatus(recorded: "unparseable"), .invalid("unparseable"), "an older file's free-form reason is an invalid self-edit")
    }

    // MARK: the journaled work runner

    func run(_ dir: URL) throws -> RunContext {
        try RunContext(mpi: Self.mpi, settings: try settings([]), out: dir.appendingPathComponent("run.h5").path, overwrite: false,
                       log: { _ in }, verbose: false)
    }

    static func entry(_ i: Int) -> JournalEntry {
        JournalEntry(evals: [EvalRecord(contextID: "c\(i)", question: "q", gold: "g\(i)", prediction: "p\(i)", correct: i % 2 == 0, note: "")],
                     context: "c\(i)")
    }

    func testRunnerJournalsEveryUnitAndResumesFromAPartialJournal() throws {
        let dir = scratchRoot.appendingPathComponent("runner-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let ctx = try run(dir)
        var times = PhaseTimes()

        // A first attempt that finished units 0 and 3, then died mid-write (a torn last line).
        let journal = ctx.journal(.arm("x"))
        try FileManager.default.createDirectory(at: journal.directory, withIntermediateDirectories: true)
        let enc = JSONEncoder()
        var text = try [Self.entry(0), Self.entry(3)].map { String(decoding: try enc.encode($0), as: UTF8.self) }.joined(separator: "\n")
        text += "\n{\"kind\":\"eval\",\"cont"
        try text.write(to: journal.directory.appendingPathComponent("rank0-pid1.jsonl"), atomically: true, encoding: .utf8)

        let work = try JournaledWork(ctx, .arm("x"))
        XCTAssertEqual(Set(work.done.keys), [.eval("c0", 0), .eval("c3", 0)], "the torn line is ignored")
        let pending = (0..<5).filter { work.done[.eval("c\($0)", 0)] == nil }
        XCTAssertEqual(pending, [1, 2, 4])
        var ran: [Int] = []
        let entries = try XCTUnwrap(try work.run(pending, progress: "x", stopLabel: "x", times: &times) { i in
            ran.append(i)
            return [Self.entry(i)]
        })
        XCTAssertEqual(ran.sorted(), [1, 2, 4], "only the units the journal lacks run")
        XCTAssertEqual(Set(entries.keys), Set((0..<5).map { JournalKey.eval("c\($0)", 0) }))
        for i in 0..<5 { XCTAssertEqual(entries[JournalKey.eval("c\(i)", 0)]?.evals?.first?.prediction, "p\(i)") }

        // A third attempt finds all five on disk (this attempt's lines were fsynced as each unit finished).
        let again = try JournaledWork(ctx, .arm("x"))
        XCTAssertEqual(again.done.count, 5)
        let none = try again.run([Int](), progress: "x", stopLabel: "x", times: &times) { _ in XCTFail("nothing should run"); return [] }
        XCTAssertEqual(none?.count, 5)
        again.remove()
        XCTAssertFalse(FileManager.default.fileExists(atPath: journal.directory.path))
    }

    func testDamagedJournalLineIsANamedError() throws {
        let dir = scratchRoot.appendingPathComponent("runner-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let ctx = try run(dir)
        let journal = ctx.journal(.round(2))
        XCTAssertTrue(journal.directory.path.hasSuffix("run.h5.ckpt/round_002.journal"))
        try FileManager.default.createDirectory(at: journal.directory, withIntermediateDirectories: true)
        let good = String(decoding: try JSONEncoder().encode(Self.entry(1)), as: UTF8.self)
        let file = journal.directory.appendingPathComponent("rank1-pid9.jsonl")
        try "not json\n\(good)\n".write(to: file, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try JournaledWork(ctx, .round(2))) { e in
            XCTAssertTrue("\(e)".contains(file.path) && "\(e)".contains("line 1"), "\(e)")
        }
    }
}
