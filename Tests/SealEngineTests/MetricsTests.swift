import Foundation
import XCTest
import SealTestSupport
import SealRuntime
import SealEngine
#if canImport(Glibc)
import Glibc
#endif

/// The metrics file: round trips through MetricsReader, what h5py sees (types, shapes, values, the documented
/// pandas recipe), resume, refusal to overwrite, awkward strings, empty rounds, and files of killed writers.
/// h5py is required: a missing /usr/bin/python3 or h5py fails these tests (`make test` installs python3-h5py).
final class MetricsTests: XCTestCase {
    static let config = #"{"model": "tiny", "rounds": 3, "lr": 0.001, "name": "naïve \"run\"\n2"}"#

    // MARK: round trip

    func testRoundTripThroughReader() throws {
        let path = tmp("roundtrip.h5")
        let rounds = [0: Self.samples(round: 0, n: 12), 1: Self.samples(round: 1, n: 5)]
        let sft0: [(step: Int, loss: Double)] = [(0, 2.5), (1, 2.25), (2, 1.875)]
        do {
            let m = try MetricsFile.create(path: path, config: Self.config, seed: 42, worldSize: 8, model: "Qwen/Qwen2.5-0.5B",
                                           overwrite: false, sealVersion: "9.9.9-test")
            XCTAssertEqual(try m.config, Self.config)
            try m.writeRound(0, samples: rounds[0]!, sftSteps: sft0,
                             attributes: ["seconds_sampling": 1.5, "seconds_inner": 2.25, "seconds_sft": 0.5, "seconds_comm": 0.125, "kept": 4])
            try m.writeRound(1, samples: rounds[1]!, sftSteps: [], attributes: [:])
            try m.writeEval(arm: "base", records: Self.evals(n: 6, seed: 0), accuracy: 0.5)
            try m.writeEval(arm: "seal_round_1", records: Self.evals(n: 3, seed: 1), accuracy: 1.0 / 3, extraAttributes: ["seconds": 3.5])
            try m.finish()
        }
        let r = try MetricsReader(path: path)
        let root = try r.rootAttributes()
        XCTAssertEqual(root["schema_version"], .int(1))
        XCTAssertEqual(root["seed"], .int(42))
        XCTAssertEqual(root["world_size"], .int(8))
        XCTAssertEqual(root["model"], .string("Qwen/Qwen2.5-0.5B"))
        XCTAssertEqual(root["status"], .string("finished"))
        XCTAssertEqual(root["seal_version"], .string("9.9.9-test"))
        XCTAssertEqual(root["resumes"], .int(0))
        XCTAssertEqual(try r.config(), Self.config)
        XCTAssertNotNil(root["created"]?.stringValue.flatMap { ISO8601DateFormatter().date(from: $0) }, "created is ISO-8601")
        XCTAssertNotNil(root["finished"]?.stringValue.flatMap { ISO8601DateFormatter().date(from: $0) }, "finished is ISO-8601")
        XCTAssertEqual(try r.rounds(), [0, 1])
        XCTAssertEqual(try r.completedRounds(), [0, 1])
        let r0 = try r.round(0)
        XCTAssertTrue(r0.completed)
        XCTAssertEqual(r0.samples, rounds[0]!)
        XCTAssertEqual(r0.sftSteps.map(\.step), [0, 1, 2])
        XCTAssertEqual(r0.sftSteps.map(\.loss), [2.5, 2.25, 1.875])
        XCTAssertEqual(r0.attributes["completed"], .int(1))
        XCTAssertEqual(r0.attributes["round"], .int(0))
        XCTAssertEqual(r0.attributes["n_samples"], .int(12))
        XCTAssertEqual(r0.attributes["n_kept"], .int(rounds[0]!.filter(\.kept).count))
        XCTAssertEqual(r0.attributes["n_sft_steps"], .int(3))
        XCTAssertEqual(r0.attributes["seconds_sampling"], .double(1.5))
        XCTAssertEqual(r0.attributes["seconds_comm"], .double(0.125))
        XCTAssertEqual(r0.attributes["kept"], .double(4))
        let r1 = try r.round(1)
        XCTAssertEqual(r1.samples, rounds[1]!)
        XCTAssertTrue(r1.sftSteps.isEmpty)
        XCTAssertEqual(try r.evalArms(), ["base", "seal_round_1"])
        let base = try r.eval("base")
        XCTAssertEqual(base.records, Self.evals(n: 6, seed: 0))
        XCTAssertEqual(base.accuracy, 0.5)
        XCTAssertEqual(base.nQuestions, 6)
        let s1 = try r.eval("seal_round_1")
        XCTAssertEqual(s1.accuracy, 1.0 / 3)
        XCTAssertEqual(s1.attributes["seconds"], .double(3.5))
        XCTAssertEqual(s1.attributes["n_correct"], .int(Self.evals(n: 3, seed: 1).filter(\.correct).count))
        XCTAssertThrowsError(try r.round(7)) { XCTAssertTrue("\($0)".contains(path), "\($0)") }
        try r.close()
        // Non-finite floats are stored as they are (JSON cannot carry them, so only the reader checks them).
        let m = try MetricsFile.resume(path: path).0
        var odd = Self.samples(round: 2, n: 1)[0]
        odd.innerLoss = .nan
        odd.reward = -.infinity
        odd.seconds = .greatestFiniteMagnitude
        try m.writeRound(2, samples: [odd], sftSteps: [(0, .nan)], attributes: ["x": .infinity])
        try m.close()
        let back = try MetricsReader(path: path).round(2)
        XCTAssertTrue(back.samples[0].innerLoss.isNaN)
        XCTAssertEqual(back.samples[0].reward, -.infinity)
        XCTAssertEqual(back.samples[0].seconds, .greatestFiniteMagnitude)
        XCTAssertTrue(back.sftSteps[0].loss.isNaN)
        XCTAssertEqual(back.attributes["x"], .double(.infinity))
    }

    func testEvalArmIsReplaced() throws {
        let path = tmp("replace.h5")
        let m = try MetricsFile.create(path: path, config: "{}", seed: 1, worldSize: 1, model: "m", overwrite: false)
        try m.writeEval(arm: "base", records: Self.evals(n: 9, seed: 0), accuracy: 0.25, extraAttributes: ["old": 1])
        try m.writeEval(arm: "base", records: Self.evals(n: 2, seed: 5), accuracy: 0.75)
        try m.close()
        let e = try MetricsReader(path: path).eval("base")
        XCTAssertEqual(e.records, Self.evals(n: 2, seed: 5))
        XCTAssertEqual(e.accuracy, 0.75)
        XCTAssertNil(e.attributes["old"], "the old arm's attributes went with it")
        let expected = Expected(config: "{}", seed: 1, worldSize: 1, model: "m", status: "running",
                                evals: ["base": [.init(records: Self.evals(n: 2, seed: 5), accuracy: 0.75, extra: [:])]])
        try checkWithH5py(path, expected)
    }

    // MARK: h5py

    func testH5pyReadsEveryDatasetWithItsType() throws {
        let path = tmp("h5py.h5")
        var expected = Expected(config: Self.config, seed: -3, worldSize: 4, model: "m/é", status: "finished")
        let m = try MetricsFile.create(path: path, config: Self.config, seed: -3, worldSize: 4, model: "m/é", overwrite: false)
        for r in 0..<3 {
            let s = Self.samples(round: r, n: 4 + r * 3)
            let sft = (0..<(r + 1)).map { (step: $0 * 10, loss: 3.0 / Double($0 + r + 1)) }
            let attrs = ["seconds_sampling": 10.0 + Double(r), "seconds_sft": 0.1 * Double(r), "kept": Double(s.filter(\.kept).count)]
            try m.writeRound(r, samples: s, sftSteps: sft, attributes: attrs)
            expected.rounds[String(r)] = .init(samples: s, sftSteps: sft.map(\.step), sftLoss: sft.map(\.loss), attributes: attrs)
        }
        for (arm, n) in [("base", 7), ("passage", 4), ("self_edit", 5), ("seal_round_1", 6)] {
            let recs = Self.evals(n: n, seed: n)
            let acc = Double(recs.filter(\.correct).count) / Double(n)
            try m.writeEval(arm: arm, records: recs, accuracy: acc, extraAttributes: ["seconds": Double(n)])
            expected.evals[arm] = [.init(records: recs, accuracy: acc, extra: ["seconds": Double(n)])]
        }
        try m.finish()
        try m.close()
        try checkWithH5py(path, expected)
        // A live run: its file is the last commit, which h5py opens as it opens a finished run's (no lock to
        // step around); the writer's lock is on the working copy.
        let live = tmp("live.h5")
        let w = try MetricsFile.create(path: live, config: "{}", seed: 0, worldSize: 1, model: "m", overwrite: false)
        try w.writeRound(0, samples: Self.samples(round: 0, n: 3), sftSteps: [], attributes: [:])
        var e2 = Expected(config: "{}", seed: 0, worldSize: 1, model: "m", status: "running")
        e2.rounds["0"] = .init(samples: Self.samples(round: 0, n: 3), sftSteps: [], sftLoss: [], attributes: [:])
        try checkWithH5py(live, e2)
        try checkWithH5py(live, e2, locking: false)
        XCTAssertEqual(try MetricsReader(path: live).completedRounds(), [0])
        XCTAssertTrue(FileManager.default.fileExists(atPath: live + ".writing"))
        try w.writeRound(1, samples: Self.samples(round: 1, n: 2), sftSteps: [], attributes: [:])
        XCTAssertEqual(try MetricsReader(path: live).completedRounds(), [0, 1], "each commit is published")
        try w.close()
        XCTAssertFalse(FileManager.default.fileExists(atPath: live + ".writing"), "close renames the working copy into place")
        XCTAssertFalse(FileManager.default.fileExists(atPath: live + ".publish"))
        XCTAssertEqual(try MetricsReader(path: live).status(), "running")
    }

    /// Runs the h5py + pandas recipe of docs/METRICS.md verbatim on a real file and checks what it computes.
    func testDocumentedPandasRecipe() throws {
        let py = try python("import pandas", args: [])
        guard py.status == 0 else { return XCTFail("python3-pandas is not installed (scripts/install-deps.sh installs it): \(py.stderr)") }
        let doc = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("docs/METRICS.md")
        let text = try String(contentsOf: doc, encoding: .utf8)
        guard let start = text.range(of: "<!-- recipe:start -->"), let end = text.range(of: "<!-- recipe:end -->"),
              let open = text.range(of: "```python\n", range: start.upperBound..<end.lowerBound),
              let close = text.range(of: "```", range: open.upperBound..<end.lowerBound) else {
            return XCTFail("docs/METRICS.md has no ```python block between the recipe markers")
        }
        let recipe = String(text[open.upperBound..<close.lowerBound])
        XCTAssertLessThanOrEqual(recipe.split(separator: "\n").count, 12, "the recipe stays short")
        let dir = scratchRoot.appendingPathComponent("recipe-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let m = try MetricsFile.create(path: dir.appendingPathComponent("metrics.h5").path, config: Self.config, seed: 1,
                                       worldSize: 2, model: "m", overwrite: false)
        try m.writeRound(0, samples: Self.samples(round: 0, n: 6), sftSteps: [(0, 1.0)], attributes: ["seconds_sft": 1])
        try m.writeRound(1, samples: Self.samples(round: 1, n: 4), sftSteps: [], attributes: [:])
        try m.writeRound(2, samples: [], sftSteps: [], attributes: [:])
        try m.writeEval(arm: "base", records: Self.evals(n: 4, seed: 0), accuracy: 0.25)
        try m.writeEval(arm: "seal_round_1", records: Self.evals(n: 5, seed: 1), accuracy: 0.8)
        try m.close()
        let rewards0 = Self.samples(round: 0, n: 6).map(\.reward).reduce(0, +) / 6
        let checks = """

        assert set(samples.columns) == set(\(pyList(MetricsFile.sampleColumns)) + ["round"]), list(samples.columns)
        assert len(samples) == 10 and sorted(set(samples["round"])) == [0, 1], samples["round"].tolist()
        assert samples["context_id"].map(type).eq(str).all() and samples["self_edit"].str.contains("\\n").all()
        assert samples["kept"].dtype == "uint8" and samples["reward"].dtype == "float64" and samples["tokens"].dtype == "int64"
        assert abs(samples[samples["round"] == 0]["reward"].mean() - \(rewards0)) < 1e-12
        assert len(evals) == 9 and set(evals["arm"]) == {"base", "seal_round_1"} and evals["question"].map(type).eq(str).all()
        assert accuracy.to_dict() == {"base": 0.25, "seal_round_1": 0.8}, accuracy.to_dict()
        assert config["rounds"] == 3
        print("RECIPE-OK")
        """
        let out = try python(recipe + checks, args: [], cwd: dir)
        XCTAssertEqual(out.status, 0, "recipe failed:\n\(out.stderr)\n\(out.stdout)")
        XCTAssertTrue(out.stdout.contains("RECIPE-OK"), out.stdout)
    }

    // MARK: resume, overwrite, errors

    func testResumeDeletesIncompleteRounds() throws {
        let path = tmp("resume.h5")
        do {
            let m = try MetricsFile.create(path: path, config: Self.config, seed: 7, worldSize: 2, model: "m", overwrite: false)
            try m.writeRound(0, samples: Self.samples(round: 0, n: 3), sftSteps: [(0, 1)], attributes: [:])
            try m.writeRound(1, samples: Self.samples(round: 1, n: 2), sftSteps: [], attributes: [:])
            try m.writeEval(arm: "base", records: Self.evals(n: 2, seed: 0), accuracy: 0.5)
            try m.close()
        }
        do {  // what a killed writer leaves: round groups without completed = 1, and a half-staged eval arm
            let f = try HDF5File(path: path, access: .readWrite)
            try f.createGroup("/rounds/round_002/samples")
            try f.write([1.0, 2.0], at: "/rounds/round_002/samples/reward")
            try f.createGroup("/rounds/round_003")
            try f.setAttribute("completed", 0, on: "/rounds/round_003")
            try f.createGroup("/_staging/seal_round_1")
            try f.write(["q"], at: "/_staging/seal_round_1/question")
            try f.close()
        }
        XCTAssertEqual(try MetricsReader(path: path).rounds(), [0, 1, 2, 3])
        XCTAssertEqual(try MetricsReader(path: path).completedRounds(), [0, 1])
        let (m, done) = try MetricsFile.resume(path: path)
        XCTAssertEqual(done, [0, 1])
        XCTAssertEqual(try m.config, Self.config)
        XCTAssertThrowsError(try m.writeRound(1, samples: [], sftSteps: [], attributes: [:])) { e in
            guard case MetricsError.roundAlreadyWritten(let p, 1) = e else { return XCTFail("\(e)") }
            XCTAssertEqual(p, path)
        }
        try m.writeRound(2, samples: Self.samples(round: 2, n: 4), sftSteps: [], attributes: ["seconds_sft": 2])
        try m.finish()
        try m.close()
        let r = try MetricsReader(path: path)
        XCTAssertEqual(try r.rounds(), [0, 1, 2])
        XCTAssertEqual(try r.round(2).samples, Self.samples(round: 2, n: 4))
        XCTAssertEqual(try r.round(0).samples, Self.samples(round: 0, n: 3))
        XCTAssertEqual(try r.rootAttributes()["resumes"], .int(1))
        XCTAssertEqual(try r.status(), "finished")
        var expected = Expected(config: Self.config, seed: 7, worldSize: 2, model: "m", status: "finished", resumes: 1)
        expected.rounds = ["0": .init(samples: Self.samples(round: 0, n: 3), sftSteps: [0], sftLoss: [1], attributes: [:]),
                           "1": .init(samples: Self.samples(round: 1, n: 2), sftSteps: [], sftLoss: [], attributes: [:]),
                           "2": .init(samples: Self.samples(round: 2, n: 4), sftSteps: [], sftLoss: [], attributes: ["seconds_sft": 2])]
        expected.evals = ["base": [.init(records: Self.evals(n: 2, seed: 0), accuracy: 0.5, extra: [:])]]
        try r.close()
        try checkWithH5py(path, expected)
        // A second resume of a finished file finds everything and sets it running again.
        let (m2, done2) = try MetricsFile.resume(path: path)
        XCTAssertEqual(done2, [0, 1, 2])
        try m2.close()
        XCTAssertEqual(try MetricsReader(path: path).status(), "running")
        XCTAssertEqual(try MetricsReader(path: path).rootAttributes()["resumes"], .int(2))
    }

    /// What a kill leaves beside the run — a working copy torn at any byte, a half-copied commit — is never read:
    /// the run's file is the last commit, and resume starts from it.
    func testTornWorkingCopyIsNeverRead() throws {
        let path = tmp("torn.h5")
        let m = try MetricsFile.create(path: path, config: "{}", seed: 3, worldSize: 1, model: "m", overwrite: false)
        try m.writeRound(0, samples: Self.samples(round: 0, n: 5), sftSteps: [(1, 0.5)], attributes: [:])
        try m.writeEval(arm: "base", records: Self.evals(n: 4, seed: 1), accuracy: 0.25)
        let published = try Data(contentsOf: URL(fileURLWithPath: path))
        m.abandonForTesting()  // as a SIGKILL would: no close, no publication
        // The working copy and a commit in flight, torn: truncated mid-file, and garbage.
        let work = try Data(contentsOf: URL(fileURLWithPath: path + ".writing"))
        try work.prefix(work.count / 2).write(to: URL(fileURLWithPath: path + ".writing"))
        try Data(repeating: 0xAB, count: 4096).write(to: URL(fileURLWithPath: path + ".publish"))
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), published, "the run's file is the last commit")
        XCTAssertEqual(try MetricsReader(path: path).completedRounds(), [0])
        let (r, done) = try MetricsFile.resume(path: path)
        XCTAssertEqual(done, [0])
        try r.writeRound(1, samples: Self.samples(round: 1, n: 3), sftSteps: [], attributes: [:])
        try r.close()
        let reader = try MetricsReader(path: path)
        XCTAssertEqual(try reader.completedRounds(), [0, 1])
        XCTAssertEqual(try reader.samples(round: 0), Self.samples(round: 0, n: 5))
        XCTAssertEqual(try reader.eval("base").accuracy, 0.25)
        XCTAssertEqual(try reader.rootAttributes()["resumes"], .int(1))
        XCTAssertFalse(FileManager.default.fileExists(atPath: path + ".writing"))
    }

    func testResumeRefusesForeignFiles() throws {
        XCTAssertThrowsError(try MetricsFile.resume(path: tmp("missing.h5"))) { e in
            guard case MetricsError.notAMetricsFile = e else { return XCTFail("\(e)") }
        }
        let plain = tmp("plain.h5")
        try HDF5File(creating: plain).flush()
        XCTAssertThrowsError(try MetricsFile.resume(path: plain)) { e in
            guard case MetricsError.notAMetricsFile(let p, _) = e else { return XCTFail("\(e)") }
            XCTAssertEqual(p, plain)
        }
        XCTAssertThrowsError(try MetricsReader(path: plain)) { XCTAssertTrue("\($0)".contains(plain)) }
        let future = tmp("future.h5")
        try MetricsFile.create(path: future, config: "{}", seed: 0, worldSize: 1, model: "m", overwrite: false).close()
        do {
            let f = try HDF5File(path: future, access: .readWrite)
            try f.setAttribute("schema_version", 2)
            try f.close()
        }
        XCTAssertThrowsError(try MetricsFile.resume(path: future)) { e in
            guard case MetricsError.unsupportedSchema(_, 2) = e else { return XCTFail("\(e)") }
        }
        let text = tmp("text.h5")
        try Data("not hdf5".utf8).write(to: URL(fileURLWithPath: text))
        XCTAssertThrowsError(try MetricsFile.resume(path: text)) { e in
            XCTAssertTrue("\(e)".contains(text) && "\(e)".contains("H5Fopen"), "\(e)")
        }
    }

    func testCreateRefusesToOverwrite() throws {
        let path = tmp("exists.h5")
        let m = try MetricsFile.create(path: path, config: #"{"a": 1}"#, seed: 1, worldSize: 1, model: "m", overwrite: false)
        try m.writeRound(0, samples: Self.samples(round: 0, n: 2), sftSteps: [], attributes: [:])
        try m.close()
        XCTAssertThrowsError(try MetricsFile.create(path: path, config: "{}", seed: 2, worldSize: 1, model: "m", overwrite: false)) { e in
            guard case MetricsError.fileExists(let p) = e else { return XCTFail("\(e)") }
            XCTAssertEqual(p, path)
            XCTAssertTrue("\(e)".contains(path))
        }
        XCTAssertEqual(try MetricsReader(path: path).config(), #"{"a": 1}"#, "the refused create left the file alone")
        XCTAssertEqual(try MetricsReader(path: path).completedRounds(), [0])
        let fresh = try MetricsFile.create(path: path, config: #"{"b": 2}"#, seed: 2, worldSize: 1, model: "m", overwrite: true)
        try fresh.close()
        let r = try MetricsReader(path: path)
        XCTAssertEqual(try r.config(), #"{"b": 2}"#)
        XCTAssertEqual(try r.rounds(), [])
        XCTAssertEqual(try r.evalArms(), [])
    }

    func testInvalidArgumentsAndErrorsNameTheFile() throws {
        let path = tmp("errors.h5")
        XCTAssertThrowsError(try MetricsFile.create(path: path, config: "{not json", seed: 0, worldSize: 1, model: "m", overwrite: false)) { e in
            guard case MetricsError.invalidArgument(let p, _) = e else { return XCTFail("\(e)") }
            XCTAssertEqual(p, path)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: path), "an invalid config creates no file")
        let nodir = "/nonexistent-seal-dir/metrics.h5"
        XCTAssertThrowsError(try MetricsFile.create(path: nodir, config: "{}", seed: 0, worldSize: 1, model: "m", overwrite: false)) { e in
            XCTAssertTrue("\(e)".contains(nodir) && "\(e)".contains("No such file or directory"), "\(e)")
        }
        let m = try MetricsFile.create(path: path, config: "{}", seed: 0, worldSize: 1, model: "m", overwrite: false)
        for bad in ["completed", "n_samples", "round", ""] {
            XCTAssertThrowsError(try m.writeRound(0, samples: [], sftSteps: [], attributes: [bad: 1])) { e in
                guard case MetricsError.invalidArgument(let p, _) = e else { return XCTFail("\(e)") }
                XCTAssertEqual(p, path)
            }
        }
        XCTAssertThrowsError(try m.writeRound(-1, samples: [], sftSteps: [], attributes: [:]))
        for arm in ["", "a/b", ".", ".."] {
            XCTAssertThrowsError(try m.writeEval(arm: arm, records: [], accuracy: 0)) { e in
                guard case MetricsError.invalidArgument = e else { return XCTFail("\(e)") }
            }
        }
        XCTAssertThrowsError(try m.writeEval(arm: "x", records: [], accuracy: 0, extraAttributes: ["accuracy": 1]))
        // A second writer on the same run is refused while the first holds the writers' lock (flock on the
        // working copy): in this process and from another one.
        XCTAssertThrowsError(try MetricsFile.resume(path: path)) { e in
            guard case MetricsError.alreadyOpen(let p) = e else { return XCTFail("\(e)") }
            XCTAssertEqual(p, path)
        }
        XCTAssertThrowsError(try MetricsFile.create(path: path, config: "{}", seed: 0, worldSize: 1, model: "m", overwrite: true)) { e in
            guard case MetricsError.alreadyOpen = e else { return XCTFail("\(e)") }
        }
        // What a caller clears before starting over (checkpoints) runs only once the lock is held: never while
        // another writer holds it.
        var cleared = 0
        XCTAssertThrowsError(try MetricsFile.create(path: path, config: "{}", seed: 0, worldSize: 1, model: "m", overwrite: true,
                                                    whileLocked: { cleared += 1 })) { e in
            guard case MetricsError.alreadyOpen = e else { return XCTFail("\(e)") }
        }
        XCTAssertEqual(cleared, 0, "whileLocked ran without the writers' lock")
        let other = try python("import fcntl, sys\nfcntl.flock(open(sys.argv[1], 'a'), fcntl.LOCK_EX | fcntl.LOCK_NB)", args: [path + ".writing"])
        XCTAssertNotEqual(other.status, 0, "another process took the writers' lock of a live run")
        XCTAssertTrue(other.stderr.contains("BlockingIOError"), other.stderr)
        try m.writeRound(0, samples: [], sftSteps: [], attributes: [:])  // nothing half-written by the refusals
        try m.close()
        XCTAssertThrowsError(try m.writeRound(1, samples: [], sftSteps: [], attributes: [:])) { e in
            guard case MetricsError.closed(let p) = e else { return XCTFail("\(e)") }
            XCTAssertEqual(p, path)
        }
        XCTAssertThrowsError(try m.config)
        XCTAssertEqual(try MetricsReader(path: path).rounds(), [0])
        // Once the lock is free, whileLocked runs with the lock held (another process cannot take it), before the
        // file is replaced; an error from it leaves the published file as it was.
        let published = try Data(contentsOf: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try MetricsFile.create(path: path, config: "{}", seed: 0, worldSize: 1, model: "m", overwrite: true,
                                                    whileLocked: { throw MetricsError.io(path: path, "refused by the caller") })) { e in
            XCTAssertTrue("\(e)".contains("refused by the caller"), "\(e)")
        }
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), published)
        var heldByOther: Int32 = 0
        let m2 = try MetricsFile.create(path: path, config: "{}", seed: 0, worldSize: 1, model: "m", overwrite: true, whileLocked: {
            heldByOther = try python("import fcntl, sys\nfcntl.flock(open(sys.argv[1], 'a'), fcntl.LOCK_EX | fcntl.LOCK_NB)", args: [path + ".writing"]).status
        })
        XCTAssertNotEqual(heldByOther, 0, "whileLocked ran before the writers' lock was taken")
        XCTAssertEqual(try MetricsReader(path: path).rounds(), [], "replaced")
        try m2.close()
        XCTAssertEqual(try MetricsReader(path: path).evalArms(), [])
    }

    // MARK: strings, empty rounds

    func testUnicodeNewlinesAndQuotes() throws {
        let path = tmp("unicode.h5")
        let nasty = ["", "naïve café", "日本語のテキスト", "🧪👩‍🔬🏳️‍🌈", "line1\nline2\r\n\tindented", #"quotes " ' ` and \ backslash \n literal"#,
                     "{\"json\": [1, 2]}", String(repeating: "long é ", count: 20_000), "combining e\u{301} and RTL \u{05D0}\u{05D1}",
                     "\u{FEFF}bom and \u{2028} line separator"]
        let samples = nasty.enumerated().map { i, s in
            SampleRecord(contextID: s, sampleIndex: i, rank: 0, reward: Double(i), baselineScore: 0, adaptedScore: 0, innerLoss: 0,
                         tokens: s.utf8.count, seconds: 0, selfEdit: s + "\n" + s, status: i % 2 == 0 ? "ok" : "why: \(s)", kept: i % 2 == 0)
        }
        let evals = nasty.map { EvalRecord(contextID: $0, question: $0 + "?", gold: $0, prediction: "«\($0)»", correct: $0.isEmpty) }
        let m = try MetricsFile.create(path: path, config: Self.config, seed: 0, worldSize: 1, model: "模型 \"x\"", overwrite: false)
        try m.writeRound(0, samples: samples, sftSteps: [], attributes: [:])
        try m.writeEval(arm: "arm é 🧪", records: evals, accuracy: 0.1)
        // U+0000 cannot live in an HDF5 C string: it is stored as U+FFFD instead of cutting the string short.
        let nul = SampleRecord(contextID: "a\u{0}b", sampleIndex: 0, rank: 0, reward: 0, baselineScore: 0, adaptedScore: 0,
                               innerLoss: 0, tokens: 0, seconds: 0, selfEdit: "x\u{0}y\u{0}", status: "ok", kept: false)
        try m.writeRound(1, samples: [nul], sftSteps: [], attributes: [:])
        try m.close()
        let r = try MetricsReader(path: path)
        XCTAssertEqual(try r.samples(round: 0), samples)
        XCTAssertEqual(try r.eval("arm é 🧪").records, evals)
        XCTAssertEqual(try r.rootAttributes()["model"], .string("模型 \"x\""))
        var stored = nul
        stored.contextID = "a\u{FFFD}b"
        stored.selfEdit = "x\u{FFFD}y\u{FFFD}"
        XCTAssertEqual(try r.samples(round: 1), [stored])
        var expected = Expected(config: Self.config, seed: 0, worldSize: 1, model: "模型 \"x\"", status: "running")
        expected.rounds = ["0": .init(samples: samples, sftSteps: [], sftLoss: [], attributes: [:]),
                           "1": .init(samples: [stored], sftSteps: [], sftLoss: [], attributes: [:])]
        expected.evals = ["arm é 🧪": [.init(records: evals, accuracy: 0.1, extra: [:])]]
        try checkWithH5py(path, expected)
    }

    func testZeroLengthRoundsAndEvals() throws {
        let path = tmp("empty.h5")
        let m = try MetricsFile.create(path: path, config: "{}", seed: 0, worldSize: 1, model: "m", overwrite: false)
        try m.writeRound(0, samples: [], sftSteps: [], attributes: ["seconds_sampling": 0])
        try m.writeRound(1, samples: Self.samples(round: 1, n: 1), sftSteps: [], attributes: [:])
        try m.writeEval(arm: "empty", records: [], accuracy: 0)
        try m.close()
        let r = try MetricsReader(path: path)
        let r0 = try r.round(0)
        XCTAssertTrue(r0.completed)
        XCTAssertEqual(r0.samples, [])
        XCTAssertTrue(r0.sftSteps.isEmpty)
        XCTAssertEqual(r0.attributes["n_samples"], .int(0))
        XCTAssertEqual(try r.eval("empty").records, [])
        XCTAssertEqual(try r.eval("empty").nQuestions, 0)
        var expected = Expected(config: "{}", seed: 0, worldSize: 1, model: "m", status: "running")
        expected.rounds = ["0": .init(samples: [], sftSteps: [], sftLoss: [], attributes: ["seconds_sampling": 0]),
                           "1": .init(samples: Self.samples(round: 1, n: 1), sftSteps: [], sftLoss: [], attributes: [:])]
        expected.evals = ["empty": [.init(records: [], accuracy: 0, extra: [:])]]
        try checkWithH5py(path, expected)
    }

    func testRoundNames() {
        XCTAssertEqual(MetricsFile.roundName(0), "round_000")
        XCTAssertEqual(MetricsFile.roundName(42), "round_042")
        XCTAssertEqual(MetricsFile.roundName(1234), "round_1234")
        XCTAssertEqual(MetricsFile.roundIndex("round_007"), 7)
        XCTAssertEqual(MetricsFile.roundIndex("round_1234"), 1234)
        XCTAssertNil(MetricsFile.roundIndex("round_"))
        XCTAssertNil(MetricsFile.roundIndex("round_1a"))
        XCTAssertNil(MetricsFile.roundIndex("other"))
    }

    /// The generic HDF5 layer under the metrics file: typed datasets and attributes, links, errors with HDF5's
    /// reason, and no leaked HDF5 identifiers.
    func testHDF5FileLayer() throws {
        let path = tmp("layer.h5")
        let f = try HDF5File(path: path, access: .create(overwrite: false))
        try f.write([Int.min, -1, 0, Int.max], at: "/a/ints")
        try f.write([UInt8(0), 1, 255], at: "/a/bytes")
        try f.write(["x", "", "é\n\"q\""], at: "/a/strings")
        try f.write([Double](), at: "/a/empty")
        try f.setAttribute("i", 7, on: "/a")
        try f.setAttribute("d", 0.1, on: "/a")
        try f.setAttribute("s", "ü", on: "/a")
        try f.setAttribute("i", -7, on: "/a")  // replaces
        XCTAssertEqual(try f.readInts("/a/ints"), [Int.min, -1, 0, Int.max])
        XCTAssertEqual(try f.readUInt8s("/a/bytes"), [0, 1, 255])
        XCTAssertEqual(try f.readStrings("/a/strings"), ["x", "", "é\n\"q\""])
        XCTAssertEqual(try f.readDoubles("/a/empty"), [])
        XCTAssertEqual(try f.datasetCount("/a/ints"), 4)
        XCTAssertEqual(try f.attributes(on: "/a"), ["i": .int(-7), "d": .double(0.1), "s": .string("ü")])
        XCTAssertEqual(try f.attributeNames(on: "/a"), ["d", "i", "s"])
        XCTAssertEqual(try f.children(of: "/a"), ["bytes", "empty", "ints", "strings"])
        XCTAssertTrue(try f.exists("/a/ints"))
        XCTAssertFalse(try f.exists("/a/nope"))
        XCTAssertFalse(try f.exists("/b/c/d"), "a missing parent is false, not an error")
        XCTAssertTrue(try f.isGroup("/a"))
        XCTAssertFalse(try f.isGroup("/a/ints"))
        try f.move("/a/ints", to: "/b/c/ints")
        XCTAssertEqual(try f.readInts("/b/c/ints"), [Int.min, -1, 0, Int.max])
        try f.delete("/a/bytes")
        XCTAssertFalse(try f.exists("/a/bytes"))
        XCTAssertThrowsError(try f.readInts("/a/strings")) { XCTAssertTrue("\($0)".contains(path), "\($0)") }
        XCTAssertThrowsError(try f.readStrings("/a/empty")) { XCTAssertTrue("\($0)".contains("not a variable-length string"), "\($0)") }
        XCTAssertThrowsError(try f.delete("/zzz")) { e in
            guard case HDF5Error.failed(let op, let p, let reason) = e else { return XCTFail("\(e)") }
            XCTAssertEqual(p, path)
            XCTAssertTrue(op.contains("H5Ldelete(/zzz)"), op)
            XCTAssertFalse(reason.isEmpty, "HDF5's own reason is reported")
        }
        XCTAssertEqual(f.openObjectCount, 1, "no HDF5 identifier leaked")
        try f.close()
        XCTAssertFalse(f.isOpen)
        XCTAssertThrowsError(try f.readDoubles("/a/empty"))
        XCTAssertThrowsError(try HDF5File(path: path, access: .create(overwrite: false))) { e in
            XCTAssertTrue("\(e)".contains(path) && "\(e)".contains("H5Fcreate"), "\(e)")
        }
        let r = try HDF5File(path: path, access: .readOnly)
        XCTAssertEqual(try r.readStrings("/a/strings"), ["x", "", "é\n\"q\""])
        XCTAssertThrowsError(try r.write([1.0], at: "/x"), "read-only")
        XCTAssertEqual(r.openObjectCount, 1)
    }

    // MARK: killed writers

    /// SIGKILL right after `writeRound`/`writeEval` return, without closing: h5py opens the file with those rounds
    /// and the arm intact, and resume carries on from there.
    func testKilledRightAfterWriteRoundReturns() throws {
        let path = tmp("killed.h5")
        let child = try startChild(mode: "after-return", path: path)
        child.process.waitUntilExit()
        XCTAssertEqual(child.process.terminationReason, .uncaughtSignal, child.log())
        XCTAssertEqual(child.process.terminationStatus, SIGKILL, child.log())
        var expected = Expected(config: Self.config, seed: 11, worldSize: 4, model: "child", status: "running")
        for r in 0..<2 {
            let s = Self.samples(round: r, n: 20)
            expected.rounds[String(r)] = .init(samples: s, sftSteps: [1, 2], sftLoss: [0.5, 0.25], attributes: ["seconds_sft": 1])
        }
        expected.evals = ["base": [.init(records: Self.evals(n: 8, seed: 3), accuracy: 0.375, extra: [:])]]
        try checkWithH5py(path, expected)
        XCTAssertEqual(try MetricsReader(path: path).status(), "running")
        let (m, done) = try MetricsFile.resume(path: path)
        XCTAssertEqual(done, [0, 1])
        try m.writeRound(2, samples: Self.samples(round: 2, n: 20), sftSteps: [(1, 0.5), (2, 0.25)], attributes: ["seconds_sft": 1])
        try m.finish()
        try m.close()
        expected.rounds["2"] = .init(samples: Self.samples(round: 2, n: 20), sftSteps: [1, 2], sftLoss: [0.5, 0.25], attributes: ["seconds_sft": 1])
        expected.status = "finished"
        expected.resumes = 1
        try checkWithH5py(path, expected)
    }

    /// A writer killed at arbitrary moments while writing large rounds and replacing an eval arm: every round it
    /// reported done is intact in h5py, later rounds are complete or lack `completed`, the arm is always a complete
    /// one, and resume drops the partial round and continues.
    func testKilledMidWriteKeepsCompletedRounds() throws {
        for (trial, delayMicros) in [0, 2_000, 7_000, 19_000, 41_000].enumerated() {
            let path = tmp("midkill-\(trial).h5")
            let child = try startChild(mode: "loop", path: path)
            let deadline = Date().addingTimeInterval(120)
            var progress = Progress()
            while progress.rounds < 3 {  // wait until rounds 0...2 are reported done
                guard child.process.isRunning, Date() < deadline else {
                    if child.process.isRunning { kill(child.process.processIdentifier, SIGKILL) }
                    return XCTFail("child writer stopped or hung before round 2:\n\(child.log())")
                }
                usleep(500)
                progress = child.progress()
            }
            usleep(useconds_t(delayMicros))
            kill(child.process.processIdentifier, SIGKILL)
            child.process.waitUntilExit()
            XCTAssertEqual(child.process.terminationStatus, SIGKILL, child.log())
            progress = child.progress()  // what the child reported before it died
            var expected = Expected(config: Self.config, seed: 5, worldSize: 2, model: "loop", status: "running")
            expected.allowExtraRounds = true
            expected.allowStaging = true
            for r in 0..<progress.rounds { expected.rounds[String(r)] = Self.loopRound(r) }
            // The arm "latest" holds the eval of the last round whose writeEval returned, or of the next one if the
            // kill came after its commit but before the report.
            expected.evals["latest"] = (max(0, progress.evals - 1)...progress.evals).map(Self.loopEval)
            expected.exactEvalArms = progress.evals > 0
            if progress.evals == 0 { expected.evals = [:] }
            try checkWithH5py(path, expected, label: "trial \(trial), killed after \(progress.rounds) rounds + \(delayMicros) µs")
            let reader = try MetricsReader(path: path)
            let present = try reader.rounds()
            let complete = try reader.completedRounds()
            XCTAssertEqual(Array(complete.prefix(progress.rounds)), Array(0..<progress.rounds))
            XCTAssertLessThanOrEqual(present.count, complete.count + 1, "at most the round being written is partial")
            try reader.close()
            let (m, done) = try MetricsFile.resume(path: path)
            XCTAssertEqual(done, complete)
            XCTAssertEqual(done, Array(0..<done.count), "completed rounds are contiguous")
            let next = done.count
            try m.writeRound(next, samples: Self.loopRound(next).samples, sftSteps: [], attributes: ["seconds_sampling": Double(next)])
            try m.writeEval(arm: "latest", records: Self.loopEval(next).records, accuracy: Self.loopEval(next).accuracy)
            try m.finish()
            try m.close()
            var after = Expected(config: Self.config, seed: 5, worldSize: 2, model: "loop", status: "finished", resumes: 1)
            for r in 0...next { after.rounds[String(r)] = Self.loopRound(r) }
            after.evals = ["latest": [Self.loopEval(next)]]
            try checkWithH5py(path, after, label: "trial \(trial) after resume")
        }
    }

    /// The writer the killed-writer tests run as a child process (this same test binary, with this one test
    /// selected and SEAL_METRICS_CHILD set, killing itself with SIGKILL). In a normal test run it writes the same
    /// rounds in-process, closes the file normally and checks what it wrote.
    func testChildWriterProcess() throws {
        let env = ProcessInfo.processInfo.environment
        let mode = env["SEAL_METRICS_CHILD"] ?? "in-process"
        let path = env["SEAL_METRICS_CHILD_FILE"] ?? tmp("in-process.h5")
        let progressPath = path + ".progress"
        _ = FileManager.default.createFile(atPath: progressPath, contents: nil)
        let progress = try FileHandle(forWritingTo: URL(fileURLWithPath: progressPath))
        func report(_ line: String) { progress.write(Data((line + "\n").utf8)) }  // write(2), unbuffered
        switch mode {
        case "after-return":
            let m = try MetricsFile.create(path: path, config: Self.config, seed: 11, worldSize: 4, model: "child", overwrite: false)
            for r in 0..<2 {
                try m.writeRound(r, samples: Self.samples(round: r, n: 20), sftSteps: [(1, 0.5), (2, 0.25)], attributes: ["seconds_sft": 1])
            }
            try m.writeEval(arm: "base", records: Self.evals(n: 8, seed: 3), accuracy: 0.375)
            raise(SIGKILL)
        case "loop":
            let m = try MetricsFile.create(path: path, config: Self.config, seed: 5, worldSize: 2, model: "loop", overwrite: false)
            for r in 0..<10_000 {
                let round = Self.loopRound(r)
                try m.writeRound(r, samples: round.samples, sftSteps: [], attributes: ["seconds_sampling": Double(r)])
                report("round \(r)")
                let e = Self.loopEval(r)
                try m.writeEval(arm: "latest", records: e.records, accuracy: e.accuracy)
                report("eval \(r)")
            }
            raise(SIGKILL)
        case "in-process":
            let m = try MetricsFile.create(path: path, config: Self.config, seed: 11, worldSize: 4, model: "child", overwrite: false)
            for r in 0..<2 {
                try m.writeRound(r, samples: Self.samples(round: r, n: 20), sftSteps: [(1, 0.5), (2, 0.25)], attributes: ["seconds_sft": 1])
            }
            try m.writeEval(arm: "base", records: Self.evals(n: 8, seed: 3), accuracy: 0.375)
            try m.close()
            let reader = try MetricsReader(path: path)
            XCTAssertEqual(try reader.completedRounds(), [0, 1])
            XCTAssertEqual(try reader.samples(round: 1), Self.samples(round: 1, n: 20))
            XCTAssertEqual(try reader.eval("base").accuracy, 0.375)
            try reader.close()
        default:
            XCTFail("unknown child mode \(mode)")
        }
    }

    // MARK: data

    static func samples(round r: Int, n: Int, editBytes: Int = 0) -> [SampleRecord] {
        (0..<n).map { (i: Int) -> SampleRecord in
            let x = Double(i)
            let edit: String = "edit r\(r) i\(i): “quoted” \"x\"\nline 2 🧪" + String(repeating: "x", count: editBytes)
            let reward: Double = Double(r) + x / 1000
            let seconds: Double = 0.001 * Double(i * r + 1)
            return SampleRecord(contextID: "ctx-\(i % 7)-é", sampleIndex: i / 7, rank: i % 4, reward: reward,
                                baselineScore: 0.1 * x, adaptedScore: 0.1 * x + 0.05, innerLoss: 1.0 / (x + 1),
                                tokens: 10 + i, seconds: seconds, selfEdit: edit,
                                status: i % 5 == 4 ? "unparseable" : "ok", kept: i % 3 == 0)
        }
    }

    static func evals(n: Int, seed: Int) -> [EvalRecord] {
        (0..<n).map { i in
            EvalRecord(contextID: "ctx-\(i % 3)", question: "Q\(seed).\(i): what is \"\(i)\"?\nAnswer briefly.",
                       gold: "gold \(i)", prediction: (i + seed) % 2 == 0 ? "gold \(i)" : "wrong ✗ \(i)", correct: (i + seed) % 2 == 0)
        }
    }

    static func loopRound(_ r: Int) -> ExpectedRound {
        let s = samples(round: r, n: 300, editBytes: 3_000 + r)
        return ExpectedRound(samples: s, sftSteps: [], sftLoss: [], attributes: ["seconds_sampling": Double(r)])
    }

    static func loopEval(_ r: Int) -> ExpectedEval {
        let recs = evals(n: 200 + r, seed: r)
        return ExpectedEval(records: recs, accuracy: Double(recs.filter(\.correct).count) / Double(recs.count), extra: [:])
    }

    // MARK: helpers

    func tmp(_ name: String) -> String {
        scratchRoot.appendingPathComponent("metrics-\(UUID().uuidString)-\(name)").path
    }

    struct Progress { var rounds = 0, evals = 0 }

    final class Child {
        let process: Process
        let path: String
        let logPath: String
        init(process: Process, path: String, logPath: String) {
            self.process = process
            self.path = path
            self.logPath = logPath
        }
        /// Rounds and evals the child reported done (`round r` / `eval r` lines), as counts.
        func progress() -> Progress {
            let text = (try? String(contentsOfFile: path + ".progress", encoding: .utf8)) ?? ""
            var p = Progress()
            for line in text.split(separator: "\n") {
                let parts = line.split(separator: " ")
                guard parts.count == 2, let n = Int(parts[1]) else { continue }
                if parts[0] == "round" { p.rounds = max(p.rounds, n + 1) }
                if parts[0] == "eval" { p.evals = max(p.evals, n + 1) }
            }
            return p
        }
        func log() -> String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "(no child log)" }
    }

    /// Starts this test binary again with only `testChildWriterProcess` selected, in the given mode.
    func startChild(mode: String, path: String) throws -> Child {
        let exe = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = ["SealEngineTests.MetricsTests/testChildWriterProcess"]
        var env = ProcessInfo.processInfo.environment
        env["SEAL_METRICS_CHILD"] = mode
        env["SEAL_METRICS_CHILD_FILE"] = path
        p.environment = env
        let logPath = path + ".log"
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        p.standardOutput = log
        p.standardError = log
        try p.run()
        return Child(process: p, path: path, logPath: logPath)
    }

    struct ExpectedRound: Encodable {
        var samples: [SampleRecord]
        var sftSteps: [Int]
        var sftLoss: [Double]
        var attributes: [String: Double]
    }

    struct ExpectedEval: Encodable {
        var records: [EvalRecord]
        var accuracy: Double
        var extra: [String: Double]
    }

    /// What `check_metrics.py` must find in a file.
    struct Expected: Encodable {
        var config: String
        var seed: Int
        var worldSize: Int
        var model: String
        var status: String
        var resumes = 0
        var rounds: [String: ExpectedRound] = [:]
        /// Rounds beyond `rounds` may exist (complete ones are checked for consistency, others must lack `completed`).
        var allowExtraRounds = false
        /// `/_staging` may exist (a writer killed inside writeEval).
        var allowStaging = false
        /// Arm -> the acceptable contents (any one must match).
        var evals: [String: [ExpectedEval]] = [:]
        /// The arms in the file are exactly the keys of `evals`.
        var exactEvalArms = true

        init(config: String, seed: Int, worldSize: Int, model: String, status: String, resumes: Int = 0,
             evals: [String: [ExpectedEval]] = [:]) {
            self.config = config
            self.seed = seed
            self.worldSize = worldSize
            self.model = model
            self.status = status
            self.resumes = resumes
            self.evals = evals
        }
    }

    /// Opens the file with h5py and checks every attribute and dataset (dtype, shape, values) against `expected`.
    func checkWithH5py(_ path: String, _ expected: Expected, locking: Bool = true, label: String = "",
                       file: StaticString = #filePath, line: UInt = #line) throws {
        let expPath = path + ".expected.json"
        try JSONEncoder().encode(expected).write(to: URL(fileURLWithPath: expPath))
        let out = try python(Self.checkScript, args: [path, expPath, locking ? "lock" : "nolock"])
        XCTAssertEqual(out.status, 0, "h5py check failed \(label) for \(path):\n\(out.stdout)\n\(out.stderr)", file: file, line: line)
        XCTAssertTrue(out.stdout.contains("H5PY-OK"), "\(label): \(out.stdout)", file: file, line: line)
    }

    /// Runs /usr/bin/python3 on `script` (through a file, so quoting never matters).
    func python(_ script: String, args: [String], cwd: URL? = nil) throws -> (status: Int32, stdout: String, stderr: String) {
        let exe = "/usr/bin/python3"
        guard FileManager.default.isExecutableFile(atPath: exe) else {
            XCTFail("\(exe) is missing: install python3-h5py (make test does)")
            throw CocoaError(.fileNoSuchFile)
        }
        let scriptURL = scratchRoot.appendingPathComponent("py-\(UUID().uuidString).py")
        try script.write(to: scriptURL, atomically: true, encoding: .utf8)
        let outURL = scratchRoot.appendingPathComponent("py-\(UUID().uuidString).out")
        let errURL = scratchRoot.appendingPathComponent("py-\(UUID().uuidString).err")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = [scriptURL.path] + args
        if let cwd { p.currentDirectoryURL = cwd }
        p.standardOutput = try FileHandle(forWritingTo: outURL)
        p.standardError = try FileHandle(forWritingTo: errURL)
        try p.run()
        p.waitUntilExit()
        return (p.terminationStatus, (try? String(contentsOf: outURL, encoding: .utf8)) ?? "",
                (try? String(contentsOf: errURL, encoding: .utf8)) ?? "")
    }

    func pyList(_ xs: [String]) -> String { "[" + xs.map { "\"\($0)\"" }.joined(separator: ", ") + "]" }

    static let checkScript = #"""
    import json, re, sys
    from datetime import datetime
    import numpy as np
    import h5py  # a missing h5py fails the test: that is the point

    path, exp_path, lock = sys.argv[1], sys.argv[2], sys.argv[3]
    exp = json.load(open(exp_path, encoding="utf-8"))
    errors = []
    def check(ok, msg):
        if not ok:
            errors.append(msg)

    I8, F8, U1 = np.dtype("<i8"), np.dtype("<f8"), np.dtype("uint8")
    INT = ["sample_index", "rank", "tokens"]
    FLOAT = ["reward", "baseline_score", "adapted_score", "inner_loss", "seconds"]
    STR = ["context_id", "self_edit", "status"]
    SAMPLE_COLS = set(INT + FLOAT + STR + ["kept"])
    EVAL_STR = ["context_id", "question", "gold", "prediction", "note"]

    def vlen_utf8(dt):
        info = h5py.check_string_dtype(dt)
        return info is not None and info.encoding == "utf-8" and info.length is None

    def attr(obj, name, kind):
        """The attribute's value after checking it is a scalar of the given kind."""
        if name not in obj.attrs:
            check(False, f"{obj.name}: no attribute {name}")
            return None
        a = obj.attrs.get_id(name)
        check(a.shape == (), f"{obj.name}@{name}: shape {a.shape}")
        if kind == "i8":
            check(a.dtype == I8, f"{obj.name}@{name}: dtype {a.dtype}")
        elif kind == "f8":
            check(a.dtype == F8, f"{obj.name}@{name}: dtype {a.dtype}")
        else:
            check(vlen_utf8(a.dtype) and isinstance(obj.attrs[name], str), f"{obj.name}@{name}: not a UTF-8 string")
        return obj.attrs[name]

    def column(g, name, n, kind):
        if name not in g:
            check(False, f"{g.name}: no dataset {name}")
            return None
        d = g[name]
        check(isinstance(d, h5py.Dataset) and d.ndim == 1 and d.shape == (n,), f"{d.name}: shape {d.shape}, want ({n},)")
        if kind == "str":
            check(vlen_utf8(d.dtype), f"{d.name}: dtype {d.dtype} is not variable-length UTF-8")
            return d.asstr()[()].tolist()
        check(d.dtype == {"i8": I8, "f8": F8, "u1": U1}[kind], f"{d.name}: dtype {d.dtype}, want {kind}")
        return d[()].tolist()

    def check_samples(g, samples):
        n = len(samples)
        check(set(g.keys()) == SAMPLE_COLS, f"{g.name}: columns {sorted(g.keys())}")
        for c in INT:
            check(column(g, c, n, "i8") == [s[c] for s in samples], f"{g.name}/{c} values")
        for c in FLOAT:
            check(column(g, c, n, "f8") == [s[c] for s in samples], f"{g.name}/{c} values")
        for c in STR:
            got = column(g, c, n, "str")
            want = [s[c] for s in samples]
            check(got == want, f"{g.name}/{c} values" + ("" if got is None else f" (first difference at {next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), None)})"))
        check(column(g, "kept", n, "u1") == [int(s["kept"]) for s in samples], f"{g.name}/kept values")

    def check_round(name, g, er):
        n = len(er["samples"])
        check(attr(g, "completed", "i8") == 1, f"{name}: completed != 1")
        check(attr(g, "round", "i8") == int(name[6:]), f"{name}: round attribute")
        check(attr(g, "n_samples", "i8") == n, f"{name}: n_samples")
        check(attr(g, "n_kept", "i8") == sum(1 for s in er["samples"] if s["kept"]), f"{name}: n_kept")
        check(attr(g, "n_sft_steps", "i8") == len(er["sftSteps"]), f"{name}: n_sft_steps")
        datetime.fromisoformat(attr(g, "written", "str").replace("Z", "+00:00"))
        for k, v in er["attributes"].items():
            check(attr(g, k, "f8") == v, f"{name}@{k}")
        check(set(g.keys()) == {"samples", "sft"}, f"{name}: members {sorted(g.keys())}")
        check_samples(g["samples"], er["samples"])
        check(set(g["sft"].keys()) == {"step", "loss"}, f"{name}/sft: members")
        check(column(g["sft"], "step", len(er["sftSteps"]), "i8") == er["sftSteps"], f"{name}/sft/step values")
        check(column(g["sft"], "loss", len(er["sftLoss"]), "f8") == er["sftLoss"], f"{name}/sft/loss values")

    def read_eval(g):
        n = g["context_id"].shape[0] if "context_id" in g else 0
        cols = {c: column(g, c, n, "str") for c in EVAL_STR}
        cols["correct"] = column(g, "correct", n, "u1")
        check(set(g.keys()) == set(EVAL_STR + ["correct"]), f"{g.name}: columns {sorted(g.keys())}")
        check(attr(g, "n_questions", "i8") == n, f"{g.name}: n_questions")
        check(attr(g, "n_correct", "i8") == sum(cols["correct"]), f"{g.name}: n_correct")
        return cols, attr(g, "accuracy", "f8"), g

    def eval_matches(got, want):
        cols, acc, g = got
        recs = want["records"]
        return (acc == want["accuracy"]
                and all(cols[c] == [r[c] for r in recs] for c in EVAL_STR)
                and cols["correct"] == [int(r["correct"]) for r in recs]
                and all(k in g.attrs and g.attrs[k] == v for k, v in want["extra"].items()))

    with h5py.File(path, "r", locking=(lock == "lock")) as f:
        check(attr(f, "schema_version", "i8") == 1, "schema_version")
        cfg = attr(f, "config", "str")
        check(cfg == exp["config"], "config text")
        check(json.loads(cfg) == json.loads(exp["config"]), "config as JSON")
        check(attr(f, "seed", "i8") == exp["seed"], "seed")
        check(attr(f, "world_size", "i8") == exp["worldSize"], "world_size")
        check(attr(f, "model", "str") == exp["model"], "model")
        check(attr(f, "status", "str") == exp["status"], f"status {f.attrs.get('status')}")
        check(attr(f, "resumes", "i8") == exp["resumes"], "resumes")
        attr(f, "seal_version", "str")
        check(re.fullmatch(r"\d+\.\d+\.\d+", attr(f, "hdf5_version", "str")) is not None, "hdf5_version")
        datetime.fromisoformat(attr(f, "created", "str").replace("Z", "+00:00"))
        if exp["status"] == "finished":
            datetime.fromisoformat(attr(f, "finished", "str").replace("Z", "+00:00"))
        allowed = {"rounds", "evals"} | ({"_staging"} if exp["allowStaging"] else set())
        check(set(f.keys()) <= allowed and {"rounds", "evals"} <= set(f.keys()), f"root members {sorted(f.keys())}")

        names = list(f["rounds"].keys())
        for name in names:
            check(re.fullmatch(r"round_\d{3,}", name) is not None, f"round group name {name}")
        present = {int(n[6:]): n for n in names}
        for r, er in exp["rounds"].items():
            name = present.get(int(r))
            check(name == "round_%03d" % int(r), f"round {r} missing (have {names})")
            if name is not None:
                check_round(name, f["rounds"][name], er)
        extra = sorted(set(present) - {int(r) for r in exp["rounds"]})
        check(exp["allowExtraRounds"] or not extra, f"unexpected rounds {extra}")
        for r in extra:  # complete ones must be whole; partial ones must not claim completion
            g = f["rounds"][present[r]]
            if g.attrs.get("completed") == 1:
                n = attr(g, "n_samples", "i8")
                for c in SAMPLE_COLS:
                    check(g["samples"][c].shape == (n,), f"extra complete round {r}: {c} shape")
                check(g["samples"]["self_edit"].asstr()[()].tolist()[:1] == [f"edit r{r} i0: “quoted” \"x\"\nline 2 🧪" + "x" * (3000 + r)][:n], f"extra round {r} data")

        arms = set(f["evals"].keys())
        if exp["exactEvalArms"]:
            check(arms == set(exp["evals"]), f"eval arms {sorted(arms)}, want {sorted(exp['evals'])}")
        for arm, variants in exp["evals"].items():
            if arm not in arms:
                check(False, f"eval arm {arm} missing")
                continue
            got = read_eval(f["evals"][arm])
            check(any(eval_matches(got, v) for v in variants), f"eval arm {arm}: contents match none of {len(variants)} expected")

    if errors:
        print("\n".join(errors[:40]))
        sys.exit(1)
    print("H5PY-OK")
    """#
}
