import Foundation
#if canImport(Glibc)
import Glibc
#endif
import SealKernels
import SealRuntime

/// Which unit a journal entry finished: a context's self-edits, its un-adapted baseline, one self-edit's inner
/// loops, or one (context, sample) unit of an evaluation arm. Built in one place, so no code spells keys by hand.
public enum JournalKey: Hashable, Sendable {
    case edits(String)
    case baseline(String)
    case sample(String, Int)
    case eval(String, Int)
}

/// The journals of a run, one per piece of work: `<run>.ckpt/<name>.journal/`.
public enum JournalName: Sendable {
    /// A ReSTEM round's sampling and inner loops.
    case round(Int)
    /// An evaluation arm.
    case arm(String)
    /// Continued pretraining's self-edits.
    case cpt
    /// Continual learning's sequences.
    case continual

    public var directoryName: String {
        switch self {
        case .round(let r): return MetricsFile.roundName(r)
        case .arm(let a): return "eval_\(a)"
        case .cpt: return "cpt"
        case .continual: return "continual"
        }
    }
}

/// One finished unit of work inside a round or an evaluation arm, as written to the journal.
public struct JournalEntry: Codable, Sendable {
    public enum Kind: String, Codable, Sendable { case edits, baseline, sample, eval }
    public var kind: Kind
    public var context: String
    public var sample: Int = 0
    /// kind = edits: the self-edits sampled for the context, in sample-index order.
    public var edits: [String]? = nil
    /// kind = baseline: the un-adapted policy's score on the context.
    public var score: Double? = nil
    /// kind = sample: the finished self-edit record (baseline and reward filled in by rank 0 later).
    public var record: SampleRecord? = nil
    /// kind = eval: the graded answers of one (context, sample) unit of an evaluation arm.
    public var evals: [EvalRecord]? = nil

    public init(edits: [String], context: String) { kind = .edits; self.context = context; self.edits = edits }
    public init(baseline score: Double, context: String) { kind = .baseline; self.context = context; self.score = score }
    public init(record: SampleRecord) { kind = .sample; context = record.contextID; sample = record.sampleIndex; self.record = record }
    public init(evals: [EvalRecord], context: String, sample: Int = 0) { kind = .eval; self.context = context; self.sample = sample; self.evals = evals }

    public var key: JournalKey {
        switch kind {
        case .edits: return .edits(context)
        case .baseline: return .baseline(context)
        case .sample: return .sample(context, sample)
        case .eval: return .eval(context, sample)
        }
    }
}

/// The write-ahead journal of a round (or an evaluation arm) in progress: `<run>.ckpt/<name>.journal/`, one
/// JSON-lines file per process, each line a finished unit, appended and fsynced the moment the unit finishes.
///
/// Why: a SEAL round on a real model is hours of inner loops, and Slurm preempts. Rounds are the unit of the
/// metrics file and the checkpoints, but a killed round must not lose the inner loops it finished. Every unit's
/// result depends only on its coordinates (run seed, round, context, sample), never on which rank ran it or when,
/// so a resumed run — on any number of ranks — reads every journal file, skips the units found there and runs
/// only the rest; the round then ends with the numbers an uninterrupted run would have written. The journal is
/// removed once the round is committed to the metrics file. A kill in the middle of a write leaves a torn last
/// line, which is ignored (that unit simply runs again).
public struct Journal: Sendable {
    public let directory: URL

    init(run out: String, name: String) {
        directory = URL(fileURLWithPath: out + ".ckpt").appendingPathComponent(name + ".journal")
    }

    /// Every entry written so far by any process, by key (a unit journaled twice keeps its first entry).
    public func load() throws -> [JournalKey: JournalEntry] {
        let fm = FileManager.default
        guard let files = try? fm.contentsOfDirectory(atPath: directory.path) else { return [:] }
        var out: [JournalKey: JournalEntry] = [:]
        for name in files.sorted() where name.hasSuffix(".jsonl") {
            let path = directory.appendingPathComponent(name).path
            guard let data = fm.contents(atPath: path) else { throw EngineError.runFiles(path: path, "cannot read the journal file \(path)") }
            let lines = data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
            for (i, line) in lines.enumerated() where !line.isEmpty {
                do {
                    let e = try Wire.decode(JournalEntry.self, line)
                    if out[e.key] == nil { out[e.key] = e }
                } catch {
                    // Only the last line can be torn by a kill; anything else means the file was damaged.
                    if i < lines.count - 1 && !(i == lines.count - 2 && lines[lines.count - 1].isEmpty) {
                        throw EngineError.runFiles(path: path, "\(path) line \(i + 1): not a journal entry (\(error)); remove the journal folder to redo this round")
                    }
                }
            }
        }
        return out
    }

    /// Removes the journal (after its round or arm is committed).
    public func remove() { try? FileManager.default.removeItem(at: directory) }
}

/// A process's open journal file: each `append` writes one line and fsyncs before returning.
final class JournalWriter {
    private let fd: Int32
    let path: String

    init(_ journal: Journal, rank: Int) throws {
        try FileManager.default.createDirectory(at: journal.directory, withIntermediateDirectories: true)
        path = journal.directory.appendingPathComponent("rank\(rank)-pid\(getpid()).jsonl").path
        fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        if fd < 0 { throw EngineError.runFiles(path: path, "cannot open the journal file \(path): \(String(cString: strerror(errno)))") }
    }

    deinit { close(fd) }

    func append(_ e: JournalEntry) throws {
        var line = try Wire.encode(e)
        line.append(UInt8(ascii: "\n"))
        let ok = line.withUnsafeBytes { b -> Bool in
            var done = 0
            while done < b.count {
                let n = write(fd, b.baseAddress! + done, b.count - done)
                if n < 0 { if errno == EINTR { continue }; return false }
                done += n
            }
            return true
        }
        if !ok || fsync(fd) != 0 { throw EngineError.runFiles(path: path, "cannot write the journal file \(path): \(String(cString: strerror(errno)))") }
    }
}

/// SIGTERM (Slurm's preemption and `scancel` signal, forwarded by mpirun to every rank) asks the run to stop at the
/// next unit boundary: the unit in flight finishes and is journaled, then the run ends with a message and exit
/// status 143, and the same command resumes it. A second SIGTERM, or SIGKILL after Slurm's KillWait, ends it at
/// once; the journal still holds every unit that had finished.
public enum Preemption {
    nonisolated(unsafe) private static var flag: sig_atomic_t = 0
    nonisolated(unsafe) private static var installed = false

    /// Installs the handler (idempotent). Called by the engine's entry points.
    public static func install() {
        if installed { return }
        installed = true
        signal(SIGTERM) { _ in
            if Preemption.flag != 0 { signal(SIGTERM, SIG_DFL); raise(SIGTERM); return }
            Preemption.flag = 1
        }
    }

    public static var requested: Bool { flag != 0 }

    /// Throws `Preempted` when a stop was requested.
    static func check(_ whereabouts: @autoclosure () -> String) throws {
        if requested { throw Preempted(whereabouts: whereabouts()) }
    }
}

/// The run stopped on SIGTERM; everything finished is on disk.
public struct Preempted: Error, CustomStringConvertible {
    public var whereabouts: String
    public var description: String {
        "stopped by SIGTERM during \(whereabouts); finished work is saved — run the same command again to resume"
    }
}

/// One piece of work journaled unit by unit — a round's sampling and inner loops, an evaluation arm, continual
/// learning's sequences: the entries a killed attempt finished are read back (by rank 0, and broadcast, so that
/// every rank plans the same units from the same view: a slow rank reading the folder itself could see lines a fast
/// rank had just appended), the units still to do run under dynamic scheduling over the ranks, each unit's entries
/// appended and fsynced the moment it finishes, and rank 0 gathers every entry. A unit's result depends only on its
/// coordinates, so a resumed run — on any number of ranks — ends with the entries an uninterrupted run would have.
public final class JournaledWork {
    public let journal: Journal
    public let run: RunContext
    /// What earlier attempts finished.
    public let done: [JournalKey: JournalEntry]
    private let writer: JournalWriter
    /// What this rank finished in this attempt.
    private(set) var local: [JournalEntry] = []

    public init(_ run: RunContext, _ name: JournalName) throws {
        self.run = run
        journal = run.journal(name)
        let bytes = run.isRoot ? try Wire.bytes(Array(try journal.load().values)) : []
        let entries = try Wire.decode([JournalEntry].self, try run.mpi.broadcast(bytes))
        done = Dictionary(entries.map { ($0.key, $0) }, uniquingKeysWith: { a, _ in a })
        writer = try JournalWriter(journal, rank: run.mpi.rank)
    }

    /// Journals an entry now (fsynced before this returns).
    public func append(_ e: JournalEntry) throws {
        try writer.append(e)
        local.append(e)
    }

    /// Runs `units` (those still to do) under dynamic scheduling, each under a preemption check (`stopLabel`: what
    /// a SIGTERM stopped) and journaled as its entries come back; `progress` labels rank 0's progress lines.
    /// `killAfterUnits`: the test hook that makes rank 0 die by SIGKILL right after journaling that many units.
    /// Adds the time in the units to `times.inner`, and the wait for the other ranks and the gathering to
    /// `times.wait` and `times.comm`. Returns, on rank 0, every entry (earlier attempts' first); nil elsewhere.
    public func run<Unit>(_ units: [Unit], progress label: String, stopLabel: String, killAfterUnits: Int? = nil, times: inout PhaseTimes,
                   _ body: (Unit) throws -> [JournalEntry]) throws -> [JournalKey: JournalEntry]? {
        let mpi = run.mpi
        let progress = ProgressReporter(label: label, total: units.count, enabled: mpi.isRoot && run.verbose, sink: run.log)
        let killAfter = mpi.isRoot ? killAfterUnits : nil
        var finished = 0
        let t0 = KernelStats.now()
        try mpi.forEachDynamic(count: units.count) { i in
            try Preemption.check(stopLabel)
            for e in try body(units[i]) { try append(e) }
            finished += 1
            if mpi.isRoot { progress.advance() }
            if let killAfter, finished == killAfter { raise(SIGKILL) }
        }
        times.inner += KernelStats.now() - t0
        var t1 = KernelStats.now()
        try mpi.barrier()
        times.wait += KernelStats.now() - t1
        t1 = KernelStats.now()
        let gathered = try mpi.gather(try Wire.bytes(local))
        times.comm += KernelStats.now() - t1
        guard mpi.isRoot, let gathered else { return nil }
        var entries = done
        for blob in gathered {
            for e in try Wire.decode([JournalEntry].self, blob) where entries[e.key] == nil { entries[e.key] = e }
        }
        return entries
    }

    /// Removes the journal (rank 0; after its work is committed to the metrics file).
    public func remove() { if run.isRoot { journal.remove() } }
}

/// JSON for records travelling between ranks and into journals: non-finite floats (a NaN loss of a self-edit that
/// trained nothing) are legal values here, spelled as strings.
enum Wire {
    static func encode<T: Encodable>(_ v: T) throws -> Data {
        let e = JSONEncoder()
        e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try e.encode(v)
    }
    static func bytes<T: Encodable>(_ v: T) throws -> [UInt8] { [UInt8](try encode(v)) }
    static func decode<T: Decodable>(_ t: T.Type, _ bytes: some Collection<UInt8>) throws -> T {
        let d = JSONDecoder()
        d.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try d.decode(t, from: Data(bytes))
    }
}
