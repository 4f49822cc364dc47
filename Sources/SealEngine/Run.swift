import Foundation
#if canImport(Glibc)
import Glibc
#endif
import SealKernels
import SealModel
import SealRuntime
import SealTrain

/// One run's ranks and files: MPI, the metrics file (open on rank 0), the checkpoints and journals beside it
/// (`<out>.ckpt/`), and the progress lines. Opened once per command; the experiments take it.
public final class RunContext {
    public let mpi: MPIRuntime
    public let settings: EngineSettings
    /// The metrics file's path.
    public let out: String
    /// The metrics file, on rank 0 (nil elsewhere).
    public let metrics: MetricsFile?
    /// The rounds the file already holds complete (every rank knows them).
    public let completed: [Int]
    public let log: (String) -> Void
    public let verbose: Bool

    public var isRoot: Bool { mpi.isRoot }

    /// Opens (resuming) or creates the run's metrics file on rank 0; every rank learns which rounds are complete.
    /// A file of another configuration is refused unless `overwrite`; a replaced run's checkpoints go with it.
    public init(mpi: MPIRuntime, settings: EngineSettings, out: String, overwrite: Bool, log: @escaping (String) -> Void = { print($0) },
                verbose: Bool = true) throws {
        self.mpi = mpi
        self.settings = settings
        self.out = out
        self.log = log
        self.verbose = verbose
        let config = settings.resolved
        var metrics: MetricsFile? = nil
        var completed: [Int] = []
        if mpi.isRoot {
            if FileManager.default.fileExists(atPath: out) && !overwrite {
                // A run of another configuration is refused before its file is opened for writing (resume counts
                // itself in the file).
                if let stored = try? MetricsReader(path: out).config(), !config.sameRun(asStored: stored) {
                    throw EngineError.runFiles(path: out, "\(out) belongs to a run with a different configuration; use another --out, or --overwrite to start over")
                }
                let (m, done) = try MetricsFile.resume(path: out)
                guard config.sameRun(asStored: try m.config) else {
                    throw EngineError.runFiles(path: out, "\(out) belongs to a run with a different configuration; use another --out, or --overwrite to start over")
                }
                metrics = m
                completed = done.sorted()
                // One line a batch log (and scripts/test-slurm.sh) can rely on: which run, from where.
                if let last = completed.last {
                    log("resuming \(out) after round \(last)")
                } else {
                    log("resuming \(out): no round complete yet")
                }
            } else {
                let ckpt = out + ".ckpt"
                metrics = try MetricsFile.create(path: out, config: try config.json, seed: config.int("run.seed"),
                                                 worldSize: mpi.size, model: settings.model.path, overwrite: overwrite) {
                    // Under the writers' lock (a live run of this --out holds it, and is refused before this runs):
                    // the replaced run's checkpoints and journals go; without --overwrite, checkpoints beside a
                    // missing metrics file belong to some other run and are not mixed into this one.
                    guard FileManager.default.fileExists(atPath: ckpt) else { return }
                    guard overwrite else {
                        throw EngineError.runFiles(path: ckpt, "\(ckpt) holds checkpoints or journals but \(out) does not exist (the metrics file was removed?); remove \(ckpt), or pass --overwrite to start over")
                    }
                    do { try FileManager.default.removeItem(atPath: ckpt) } catch {
                        throw EngineError.runFiles(path: ckpt, "--overwrite: cannot remove \(ckpt): \(error.localizedDescription)")
                    }
                }
            }
        }
        self.metrics = metrics
        self.completed = try Wire.decode([Int].self, try mpi.broadcast(try Wire.bytes(completed)))
    }

    /// Rank 0's value on every rank.
    func fromRoot<T: Codable>(_ value: T) throws -> T {
        try Wire.decode(T.self, try mpi.broadcast(try Wire.bytes(value)))
    }

    /// The arms already in the run's file (every rank gets rank 0's list).
    func armsDone() throws -> [String] {
        try fromRoot(isRoot ? try metrics?.evalArms() ?? [] : [])
    }

    /// Rank 0 closes the file as finished and logs the table of its arms.
    func finish(rounds: Int) throws {
        guard isRoot, let metrics else { return }
        try metrics.finish()
        log(try summaryTable(rounds: rounds))
    }

    /// The paper's Table 2 shape: one line per arm with accuracy, questions and seconds.
    func summaryTable(rounds: Int) throws -> String {
        guard let metrics else { return "" }
        let arms = try metrics.evalArms()
        // Configured arms first, in config order, then the SEAL rounds in order.
        let all = 0...max(0, rounds)
        let order = settings.eval.arms.map(\.name) + all.map { "seal_round_\($0)" } + all.map { "retention_round_\($0)" }
        let sorted = arms.sorted { (order.firstIndex(of: $0) ?? .max, $0) < (order.firstIndex(of: $1) ?? .max, $1) }
        func pad(_ s: String, _ n: Int, left: Bool = false) -> String {
            let fill = String(repeating: " ", count: max(0, n - s.count))
            return left ? s + fill : fill + s
        }
        let width = max(16, (sorted.map(\.count).max() ?? 0) + 2)
        var lines = ["", pad("arm", width, left: true) + pad("accuracy", 10) + pad("questions", 11) + pad("seconds", 10)]
        for a in sorted {
            let at = try metrics.evalAttributes(a)
            let acc = at["accuracy"]?.doubleValue ?? .nan, n = at["n_questions"]?.intValue ?? 0
            let secs = at["seconds"]?.doubleValue ?? .nan
            lines.append(pad(a, width, left: true) + pad(String(format: "%.1f%%", 100 * acc), 10)
                         + pad("\(n)", 11) + pad(String(format: "%.1f", secs), 10))
        }
        return lines.joined(separator: "\n")
    }

    // MARK: checkpoints and journals

    /// Where round n's policy update is checkpointed: `<run>.ckpt/round_NNN/` (a PEFT adapter), or a
    /// `round_NNN.empty` marker when nothing was kept.
    func checkpointURL(round: Int) -> URL {
        URL(fileURLWithPath: out + ".ckpt").appendingPathComponent(MetricsFile.roundName(round))
    }

    /// Writes round n's checkpoint (rank 0): to a temporary name, then renamed, so that it exists whole or not at all.
    func saveCheckpoint(_ adapter: LoRAAdapter?, round: Int, baseModel: String) throws {
        let final = checkpointURL(round: round)
        let fm = FileManager.default
        try fm.createDirectory(at: final.deletingLastPathComponent(), withIntermediateDirectories: true)
        let empty = URL(fileURLWithPath: final.path + ".empty")
        try? fm.removeItem(at: final)
        try? fm.removeItem(at: empty)
        guard let adapter else {
            try Data().write(to: empty, options: .atomic)
            return
        }
        let tmp = URL(fileURLWithPath: final.path + ".tmp-\(getpid())")
        try? fm.removeItem(at: tmp)
        try PEFTAdapter.save(adapter, to: tmp, baseModel: baseModel)
        try fm.moveItem(at: tmp, to: final)
    }

    /// The journal of a piece of work of this run.
    public func journal(_ name: JournalName) -> Journal { Journal(run: out, name: name.directoryName) }

    // MARK: self-edits shared by every rank

    /// The self-edits of every context: those in `work`'s journal, plus those still to sample, sampled with
    /// contexts sharded statically by cost (sampling is batched, so it is not worth scheduling finer) and shared
    /// with every rank. Each context's self-edits are journaled as soon as they exist.
    func selfEdits(_ contexts: [ContextInfo], policy: Policy, round: Int, work: JournaledWork, times: inout PhaseTimes,
                   samples: Int? = nil) throws -> [String: [String]] {
        var edits: [String: [String]] = [:]
        for c in contexts { if let e = work.done[.edits(c.id)]?.edits { edits[c.id] = e } }
        let missing = contexts.filter { edits[$0.id] == nil }
        if missing.isEmpty { return edits }
        var t0 = KernelStats.now()
        let mine = shard(missing, ranks: mpi.size)[mpi.rank]
        let fresh = try policy.sampleSelfEdits(mine.map(\.id), round: round, samples: samples)
        var list: [[String]] = []
        for c in mine {
            let e = fresh[c.id] ?? []
            try work.append(JournalEntry(edits: e, context: c.id))
            list.append([c.id] + e)
        }
        times.sampling += KernelStats.now() - t0
        t0 = KernelStats.now()
        try mpi.barrier()
        times.wait += KernelStats.now() - t0
        t0 = KernelStats.now()
        for blob in try mpi.allgather(try Wire.bytes(list)) {
            for row in try Wire.decode([[String]].self, blob) { edits[row[0]] = Array(row.dropFirst()) }
        }
        times.comm += KernelStats.now() - t0
        return edits
    }
}

/// Timings of one round's phases on this rank (seconds).
public struct PhaseTimes: Codable, Sendable {
    public var sampling = 0.0, inner = 0.0, comm = 0.0, sft = 0.0, io = 0.0
    /// Time spent waiting for other ranks at the round's meeting points (measured by a barrier before each
    /// exchange, so `comm` is only the data movement).
    public var wait = 0.0
    public init() {}
}
