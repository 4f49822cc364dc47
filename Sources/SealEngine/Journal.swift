import Foundation
#if canImport(Glibc)
import Glibc
#endif
import SealRuntime

/// One finished unit of work inside a round or an evaluation arm, as written to the journal.
struct JournalEntry: Codable {
    enum Kind: String, Codable { case edits, baseline, sample, eval }
    var kind: Kind
    var context: String
    var sample: Int = 0
    /// kind = edits: the self-edits sampled for the context, in sample-index order.
    var edits: [String]? = nil
    /// kind = baseline: the un-adapted policy's score on the context.
    var score: Double? = nil
    /// kind = sample: the finished self-edit record (baseline and reward filled in by rank 0 later).
    var record: SampleRecord? = nil
    /// kind = eval: the graded answers of one (context, sample) unit of an evaluation arm.
    var evals: [EvalRecord]? = nil

    var key: String { "\(kind.rawValue)|\(context)|\(sample)" }
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
struct Journal {
    let directory: URL

    init(run out: String, name: String) {
        directory = URL(fileURLWithPath: out + ".ckpt").appendingPathComponent(name + ".journal")
    }

    /// Every entry written so far by any process, by key (a unit journaled twice keeps its first entry).
    func load() throws -> [String: JournalEntry] {
        let fm = FileManager.default
        guard let files = try? fm.contentsOfDirectory(atPath: directory.path) else { return [:] }
        var out: [String: JournalEntry] = [:]
        for name in files.sorted() where name.hasSuffix(".jsonl") {
            let path = directory.appendingPathComponent(name).path
            guard let data = fm.contents(atPath: path) else { throw EngineError("cannot read the journal file \(path)") }
            let lines = data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
            for (i, line) in lines.enumerated() where !line.isEmpty {
                do {
                    let e = try Wire.decode(JournalEntry.self, line)
                    if out[e.key] == nil { out[e.key] = e }
                } catch {
                    // Only the last line can be torn by a kill; anything else means the file was damaged.
                    if i < lines.count - 1 && !(i == lines.count - 2 && lines[lines.count - 1].isEmpty) {
                        throw EngineError("\(path) line \(i + 1): not a journal entry (\(error)); remove the journal folder to redo this round")
                    }
                }
            }
        }
        return out
    }

    /// Removes the journal (after its round or arm is committed).
    func remove() { try? FileManager.default.removeItem(at: directory) }
}

/// A process's open journal file: each `append` writes one line and fsyncs before returning.
final class JournalWriter {
    private let fd: Int32
    let path: String

    init(_ journal: Journal, rank: Int) throws {
        try FileManager.default.createDirectory(at: journal.directory, withIntermediateDirectories: true)
        path = journal.directory.appendingPathComponent("rank\(rank)-pid\(getpid()).jsonl").path
        fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        if fd < 0 { throw EngineError("cannot open the journal file \(path): \(String(cString: strerror(errno)))") }
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
        if !ok || fsync(fd) != 0 { throw EngineError("cannot write the journal file \(path): \(String(cString: strerror(errno)))") }
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

extension ReSTEMEngine {
    /// The journal's entries as rank 0 read them, on every rank. Every rank must plan the same units from the same
    /// view: if each read the folder itself, a slow rank could see lines a fast rank had just appended.
    func loadJournal(_ j: Journal) throws -> [String: JournalEntry] {
        var bytes: [UInt8] = []
        if mpi.isRoot { bytes = try Wire.bytes(Array(try j.load().values)) }
        let entries = try Wire.decode([JournalEntry].self, try mpi.broadcast(bytes))
        return Dictionary(entries.map { ($0.key, $0) }, uniquingKeysWith: { a, _ in a })
    }
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
