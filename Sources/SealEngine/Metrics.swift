import Foundation
import SealRuntime

// seal's metrics file: one HDF5 file per run, written by rank 0, read offline with h5py/pandas (no seal code
// needed). The schema, the h5py recipe and the compatibility promise are in docs/METRICS.md; keep both in step.
//
// Crash consistency. A run may be killed at any moment (SIGKILL from the scheduler, a node failure), and the file
// must then still open in h5py with every round whose `writeRound` returned intact, and resume. The writer therefore:
//  * never writes the run's file in place. HDF5 writes a private working copy, `<path>.writing`; every public write
//    ends in a commit: flush, copy the working copy to `<path>.publish`, fsync it, rename it over `<path>`, fsync
//    the directory (`WorkingCopy`). The file at `<path>` is always the image of a finished commit. Writing in
//    place, with the flushes below alone, left one window: a kill inside `H5Fflush` (metadata goes out piece by
//    piece, the superblock with the end-of-file address last) could leave a link to an object past the recorded
//    end of the file, and such a file neither reads nor resumes (seen about once in 125 kills of a writer in a
//    tight loop). Resume copies the published file back over the working copy and goes on from there.
//  * keeps the file in the HDF5 1.8 format (`H5Pset_libver_bounds(EARLIEST, V18)`, superblock 0). The 1.10
//    "latest" format marks the file "open for write" in the superblock; a copy taken while the writer has it open
//    would carry the mark, and every `H5Fopen`/`h5py.File` of it fails until someone runs `h5clear -s`.
//  * does not use SWMR (it needs that latest format, and in HDF5 1.10 it only appends to datasets that exist,
//    while every round and eval here creates new groups and datasets).
//  * holds dirty metadata in memory until an explicit flush (metadata-cache evictions off), so the working copy
//    right after a flush is a complete file, and commits a round in two flushes (its data, then `completed = 1`);
//    an eval arm is written under `/_staging/<arm>` and moved to `/evals/<arm>`. With publication these matter
//    only for files written by older seal versions in place, which resume still tidies (a round without
//    `completed` is deleted, `/_staging` removed).
// The price of holding metadata: nothing is evicted, so the writer's metadata cache grows by about the size of what
// it writes, strings included (they live in HDF5's global heap); `metadataCacheBytes` reports it. A commit copies
// the whole file (tens of MB for the largest runs: well under a second, a few times per round).
//
// Writers' lock: `flock` on the working copy, held while the writer lives, refuses a second writer of the same run
// in any process. The published file carries no lock: h5py opens a live run's file as it opens a finished one and
// sees its last commit.

/// One self-edit sample of one ReSTEM/SEAL round: a row of `/rounds/round_NNN/samples`. The Codable keys are the
/// column names of the file (snake_case).
public struct SampleRecord: Codable, Sendable, Equatable {
    public var contextID: String
    public var sampleIndex: Int
    public var rank: Int
    public var reward: Double
    public var baselineScore: Double
    public var adaptedScore: Double
    public var innerLoss: Double
    public var tokens: Int
    public var seconds: Double
    public var selfEdit: String
    /// "ok", or why the self-edit earned nothing (e.g. "unparseable").
    public var status: String
    /// Whether ReSTEM kept the sample for its SFT step.
    public var kept: Bool

    public init(contextID: String, sampleIndex: Int, rank: Int, reward: Double, baselineScore: Double,
                adaptedScore: Double, innerLoss: Double, tokens: Int, seconds: Double, selfEdit: String,
                status: String = "ok", kept: Bool = false) {
        self.contextID = contextID
        self.sampleIndex = sampleIndex
        self.rank = rank
        self.reward = reward
        self.baselineScore = baselineScore
        self.adaptedScore = adaptedScore
        self.innerLoss = innerLoss
        self.tokens = tokens
        self.seconds = seconds
        self.selfEdit = selfEdit
        self.status = status
        self.kept = kept
    }

    enum CodingKeys: String, CodingKey {
        case contextID = "context_id", sampleIndex = "sample_index", rank, reward, baselineScore = "baseline_score"
        case adaptedScore = "adapted_score", innerLoss = "inner_loss", tokens, seconds, selfEdit = "self_edit"
        case status, kept
    }
}

/// One question of one eval arm: a row of `/evals/<arm>`.
public struct EvalRecord: Codable, Sendable, Equatable {
    public var contextID: String
    public var question: String
    public var gold: String
    public var prediction: String
    public var correct: Bool
    /// What the grader said beyond the verdict: a judge's raw reply (and whether it parsed); "" when nothing.
    public var note: String

    public init(contextID: String, question: String, gold: String, prediction: String, correct: Bool, note: String = "") {
        self.contextID = contextID
        self.question = question
        self.gold = gold
        self.prediction = prediction
        self.correct = correct
        self.note = note
    }

    enum CodingKeys: String, CodingKey {
        case contextID = "context_id", question, gold, prediction, correct, note
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        contextID = try c.decode(String.self, forKey: .contextID)
        question = try c.decode(String.self, forKey: .question)
        gold = try c.decode(String.self, forKey: .gold)
        prediction = try c.decode(String.self, forKey: .prediction)
        correct = try c.decode(Bool.self, forKey: .correct)
        note = try c.decodeIfPresent(String.self, forKey: .note) ?? ""
    }
}

public enum MetricsError: Error, CustomStringConvertible {
    case fileExists(path: String)
    case notAMetricsFile(path: String, reason: String)
    case unsupportedSchema(path: String, version: Int)
    case invalidArgument(path: String, String)
    case roundAlreadyWritten(path: String, round: Int)
    case malformed(path: String, String)
    case closed(path: String)
    case alreadyOpen(path: String)
    case io(path: String, String)

    public var description: String {
        switch self {
        case .fileExists(let p):
            return "\(p): metrics file already exists (resume the run, or pass overwrite to replace it)"
        case .notAMetricsFile(let p, let why): return "\(p): not a seal metrics file: \(why)"
        case .unsupportedSchema(let p, let v):
            let mine = MetricsFile.schemaVersion
            return "\(p): metrics schema_version \(v) is not supported (this seal reads and writes \(mine))"
        case .invalidArgument(let p, let what): return "\(p): \(what)"
        case .roundAlreadyWritten(let p, let r): return "\(p): round \(r) is already complete in the file"
        case .malformed(let p, let what): return "\(p): malformed metrics file: \(what)"
        case .closed(let p): return "\(p): metrics file is closed"
        case .alreadyOpen(let p):
            return "\(p): another writer (in this or another process) holds this run's metrics file (its lock is on \(WorkingCopy.workPath(p)))"
        case .io(let p, let what): return "\(p): \(what)"
        }
    }
}

/// The metrics file of one run, open for writing. Only rank 0 creates one. All methods are serialized by a lock.
public final class MetricsFile: @unchecked Sendable {
    /// The `schema_version` this code writes (see docs/METRICS.md for what a change of it means).
    public static let schemaVersion = 1
    /// The `seal_version` root attribute when the caller passes none.
    public static let defaultSealVersion = "0.1.0"

    /// Columns of `/rounds/round_NNN/samples`, in the order they are written.
    public static let sampleColumns = ["context_id", "sample_index", "rank", "reward", "baseline_score", "adapted_score",
                                       "inner_loss", "tokens", "seconds", "self_edit", "status", "kept"]
    /// Columns of `/evals/<arm>`.
    public static let evalColumns = ["context_id", "question", "gold", "prediction", "correct", "note"]
    /// Round attributes seal writes itself; `writeRound`'s `attributes` may not use these names.
    public static let reservedRoundAttributes: Set<String> = ["completed", "round", "n_samples", "n_kept", "n_sft_steps",
                                                              "written"]
    /// Eval attributes seal writes itself; `writeEval`'s `extraAttributes` may not use these names.
    public static let reservedEvalAttributes: Set<String> = ["accuracy", "n_questions", "n_correct", "written"]

    static let staging = "/_staging"

    /// The run's file (what readers open); HDF5 writes to its working copy `<path>.writing`.
    public let path: String
    private let file: HDF5File
    private let copy: WorkingCopy
    private let lock = NSLock()

    private init(file: HDF5File, copy: WorkingCopy) {
        self.file = file
        self.copy = copy
        self.path = copy.published
    }

    deinit { try? close() }

    /// The working copy: 1.8 format, metadata held until each flush; no fsync and no HDF5 lock (the published
    /// copy is fsynced, and `WorkingCopy` holds the writers' lock).
    static var writerOptions: HDF5File.Options {
        HDF5File.Options(holdMetadataUntilFlush: true, durableFlush: false, fileLocking: false)
    }

    /// Flushes the working copy and publishes it: the end of every public write.
    private static func commit(_ f: HDF5File, _ copy: WorkingCopy) throws {
        try f.flush()
        try copy.publish()
    }

    /// Creates a new file (error if it exists unless overwrite) and writes the root attributes with status "running".
    /// `config` must be JSON text (the resolved run config); it is stored verbatim. `whileLocked` runs once the
    /// writers' lock is held and before anything is written: where a caller clears what belongs to the run it
    /// replaces (checkpoints, journals), so that a live writer of the same run — whose lock refuses this one first —
    /// never loses them. An error from it leaves the published file as it was.
    public static func create(path: String, config: String, seed: Int, worldSize: Int, model: String, overwrite: Bool,
                              sealVersion: String = MetricsFile.defaultSealVersion,
                              whileLocked: () throws -> Void = {}) throws -> MetricsFile {
        guard (try? JSONSerialization.jsonObject(with: Data(config.utf8), options: [.fragmentsAllowed])) != nil else {
            throw MetricsError.invalidArgument(path: path, "config is not valid JSON")
        }
        if !overwrite, FileManager.default.fileExists(atPath: path) { throw MetricsError.fileExists(path: path) }
        let copy = try WorkingCopy(published: path)
        try whileLocked()
        let f = try HDF5File(path: copy.work, access: .create(overwrite: true), options: writerOptions)
        try f.setAttribute("schema_version", schemaVersion)
        try f.setAttribute("config", config)
        try f.setAttribute("seed", seed)
        try f.setAttribute("world_size", worldSize)
        try f.setAttribute("model", model)
        try f.setAttribute("created", timestamp())
        try f.setAttribute("status", "running")
        try f.setAttribute("seal_version", sealVersion)
        try f.setAttribute("hdf5_version", HDF5File.libraryVersion)
        try f.setAttribute("resumes", 0)
        try f.createGroup("/rounds")
        try f.createGroup("/evals")
        try commit(f, copy)
        return MetricsFile(file: f, copy: copy)
    }

    /// Opens an existing run's file for resuming: returns it plus the list of completed round indices; any round
    /// group without `completed = 1` (a round killed mid-write) is deleted so it can be rewritten, as is an eval arm
    /// left half-written in `/_staging`. Sets status back to "running" and counts the resume in `resumes`.
    public static func resume(path: String) throws -> (MetricsFile, completedRounds: [Int]) {
        guard FileManager.default.fileExists(atPath: path) else {
            throw MetricsError.notAMetricsFile(path: path, reason: "no such file")
        }
        let copy = try WorkingCopy(published: path)
        try copy.seed()
        let f = try HDF5File(path: copy.work, access: .readWrite, options: writerOptions)
        try checkSchema(f, path: path)
        for g in ["/rounds", "/evals"] where try !f.exists(g) { try f.createGroup(g) }
        var completed: [Int] = []
        for name in try f.children(of: "/rounds") {
            guard let r = roundIndex(name) else { continue }
            let g = "/rounds/" + name
            if try isComplete(f, g) { completed.append(r) } else { try f.delete(g) }
        }
        if try f.exists(staging) { try f.delete(staging) }
        let resumes = (try? f.attribute("resumes"))?.intValue ?? 0
        try f.setAttribute("resumes", resumes + 1)
        try f.setAttribute("status", "running")
        try commit(f, copy)
        return (MetricsFile(file: f, copy: copy), completed.sorted())
    }

    /// The root `config` attribute (to compare with the config of a resumed run).
    public var config: String {
        get throws { try locked { try $0.stringAttribute("config") } }
    }

    /// Writes round `round` (its samples, SFT steps and float64 `attributes`, e.g. `seconds_sampling`), then marks
    /// it `completed = 1`, flushing and fsyncing before and after the mark. A completed round is never rewritten;
    /// an incomplete one (a previous attempt that threw) is replaced.
    public func writeRound(_ round: Int, samples: [SampleRecord], sftSteps: [(step: Int, loss: Double)],
                           attributes: [String: Double]) throws {
        guard round >= 0 else { throw MetricsError.invalidArgument(path: path, "round index \(round) is negative") }
        for k in attributes.keys where k.isEmpty || MetricsFile.reservedRoundAttributes.contains(k) {
            throw MetricsError.invalidArgument(path: path, "round attribute name \"\(k)\" is empty or reserved")
        }
        try locked { f in
            let g = "/rounds/" + MetricsFile.roundName(round)
            if try f.exists(g) {
                if try MetricsFile.isComplete(f, g) { throw MetricsError.roundAlreadyWritten(path: path, round: round) }
                try f.delete(g)
                try f.flush()  // freed space must not be reused while flushed metadata still points at it
            }
            try f.createGroup(g + "/samples")
            let s = g + "/samples/"
            try f.write(samples.map(\.contextID), at: s + "context_id")
            try f.write(samples.map(\.sampleIndex), at: s + "sample_index")
            try f.write(samples.map(\.rank), at: s + "rank")
            try f.write(samples.map(\.reward), at: s + "reward")
            try f.write(samples.map(\.baselineScore), at: s + "baseline_score")
            try f.write(samples.map(\.adaptedScore), at: s + "adapted_score")
            try f.write(samples.map(\.innerLoss), at: s + "inner_loss")
            try f.write(samples.map(\.tokens), at: s + "tokens")
            try f.write(samples.map(\.seconds), at: s + "seconds")
            try f.write(samples.map(\.selfEdit), at: s + "self_edit")
            try f.write(samples.map(\.status), at: s + "status")
            try f.write(samples.map { UInt8($0.kept ? 1 : 0) }, at: s + "kept")
            try f.createGroup(g + "/sft")
            try f.write(sftSteps.map(\.step), at: g + "/sft/step")
            try f.write(sftSteps.map(\.loss), at: g + "/sft/loss")
            try f.setAttribute("round", round, on: g)
            try f.setAttribute("n_samples", samples.count, on: g)
            try f.setAttribute("n_kept", samples.filter(\.kept).count, on: g)
            try f.setAttribute("n_sft_steps", sftSteps.count, on: g)
            try f.setAttribute("written", MetricsFile.timestamp(), on: g)
            for (k, v) in attributes.sorted(by: { $0.key < $1.key }) { try f.setAttribute(k, v, on: g) }
            try f.flush()
            try f.setAttribute("completed", 1, on: g)
            try MetricsFile.commit(f, copy)
        }
    }

    /// The eval arms written so far, in name order (read through the writer's own handle: a second open of the
    /// file in this process would clash with the writer's lock).
    public func evalArms() throws -> [String] { try locked { try $0.children(of: "/evals") } }

    /// The attributes of eval arm `arm` (`accuracy`, `n_questions`, `n_correct`, `seconds`, ...).
    public func evalAttributes(_ arm: String) throws -> [String: HDF5Value] {
        try locked { try $0.attributes(on: "/evals/" + arm) }
    }

    /// Adds float64 attributes to a round already written (e.g. the time its own writing took, known only after).
    /// A kill before this flush loses only these attributes, never the round.
    public func addRoundAttributes(_ round: Int, _ attributes: [String: Double]) throws {
        for k in attributes.keys where k.isEmpty || MetricsFile.reservedRoundAttributes.contains(k) {
            throw MetricsError.invalidArgument(path: path, "round attribute name \"\(k)\" is empty or reserved")
        }
        try locked { f in
            let g = "/rounds/" + MetricsFile.roundName(round)
            guard try f.exists(g), try MetricsFile.isComplete(f, g) else {
                throw MetricsError.invalidArgument(path: path, "round \(round) is not written")
            }
            for (k, v) in attributes.sorted(by: { $0.key < $1.key }) { try f.setAttribute(k, v, on: g) }
            try MetricsFile.commit(f, copy)
        }
    }

    /// Writes eval arm `arm` (a free name such as "base", "passage", "seal_round_1"; no "/"), replacing an existing
    /// arm of that name, with `accuracy`, `n_questions`, `n_correct` and the float64 `extraAttributes`; flushes.
    public func writeEval(arm: String, records: [EvalRecord], accuracy: Double,
                          extraAttributes: [String: Double] = [:]) throws {
        guard !arm.isEmpty, !arm.contains("/"), arm != ".", arm != ".." else {
            throw MetricsError.invalidArgument(path: path, "eval arm name \"\(arm)\" is empty or contains \"/\"")
        }
        for k in extraAttributes.keys where k.isEmpty || MetricsFile.reservedEvalAttributes.contains(k) {
            throw MetricsError.invalidArgument(path: path, "eval attribute name \"\(k)\" is empty or reserved")
        }
        try locked { f in
            if try f.exists(MetricsFile.staging) {
                try f.delete(MetricsFile.staging)
                try f.flush()
            }
            let g = MetricsFile.staging + "/" + arm
            try f.createGroup(g)
            try f.write(records.map(\.contextID), at: g + "/context_id")
            try f.write(records.map(\.question), at: g + "/question")
            try f.write(records.map(\.gold), at: g + "/gold")
            try f.write(records.map(\.prediction), at: g + "/prediction")
            try f.write(records.map { UInt8($0.correct ? 1 : 0) }, at: g + "/correct")
            try f.write(records.map(\.note), at: g + "/note")
            try f.setAttribute("accuracy", accuracy, on: g)
            try f.setAttribute("n_questions", records.count, on: g)
            try f.setAttribute("n_correct", records.filter(\.correct).count, on: g)
            try f.setAttribute("written", MetricsFile.timestamp(), on: g)
            for (k, v) in extraAttributes.sorted(by: { $0.key < $1.key }) { try f.setAttribute(k, v, on: g) }
            try f.flush()
            let final = "/evals/" + arm
            if try f.exists(final) { try f.delete(final) }
            try f.move(g, to: final)
            try f.delete(MetricsFile.staging)
            try MetricsFile.commit(f, copy)
        }
    }

    /// Marks the run finished (`status` = "finished", `finished` = now) and flushes. The file stays open.
    public func finish() throws {
        try locked { f in
            try f.setAttribute("status", "finished")
            try f.setAttribute("finished", MetricsFile.timestamp())
            try MetricsFile.commit(f, copy)
        }
    }

    /// Flushes HDF5's buffers and publishes the result (fsynced) at `path`.
    public func flush() throws {
        try locked { try MetricsFile.commit($0, copy) }
    }

    /// Flushes and closes the file, publishes it (the working copy is renamed to `path`) and releases the writers'
    /// lock; later calls throw `MetricsError.closed`. Dropping the object also closes it.
    public func close() throws {
        lock.lock()
        defer { lock.unlock() }
        guard file.isOpen else { return }
        defer { copy.release() }
        var flushError: Error?
        do { try file.flush() } catch { flushError = error }
        try file.close()
        if let flushError { throw flushError }  // the last commit stays published
        try copy.finish()
    }

    /// Tests: drops the writer as a killed process would — the HDF5 handle closed without a commit (what it wrote
    /// since the last commit never reaches `path`), the lock released, the working copy left behind.
    public func abandonForTesting() {
        lock.lock()
        defer { lock.unlock() }
        try? file.close()
        copy.release()
    }

    /// Bytes held by HDF5's metadata cache for this file (diagnostics; see "Memory" in docs/METRICS.md).
    public var metadataCacheBytes: Int { (try? locked { $0.metadataCacheBytes }) ?? 0 }

    /// "round_007": the group name of round `r` (zero-padded to at least 3 digits).
    public static func roundName(_ r: Int) -> String {
        let d = String(r)
        return "round_" + String(repeating: "0", count: max(0, 3 - d.count)) + d
    }

    /// The round index of a group name written by `roundName`, or nil.
    public static func roundIndex(_ name: String) -> Int? {
        guard name.hasPrefix("round_") else { return nil }
        let digits = name.dropFirst(6)
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return Int(digits)
    }

    // MARK: private

    private func locked<T>(_ body: (HDF5File) throws -> T) throws -> T {
        lock.lock()
        defer { lock.unlock() }
        guard file.isOpen else { throw MetricsError.closed(path: path) }
        HDF5File.silenceErrorPrinting()  // per thread in a thread-safe HDF5: this may be a new thread
        return try body(file)
    }

    static func isComplete(_ f: HDF5File, _ group: String) throws -> Bool {
        guard try f.hasAttribute("completed", on: group) else { return false }
        return try f.attribute("completed", on: group).intValue == 1
    }

    /// `path`: the name to report (a writer checks its working copy but names the run's file).
    static func checkSchema(_ f: HDF5File, path: String? = nil) throws {
        let path = path ?? f.path
        guard try f.hasAttribute("schema_version") else {
            throw MetricsError.notAMetricsFile(path: path, reason: "no schema_version attribute")
        }
        guard let v = try f.attribute("schema_version").intValue else {
            throw MetricsError.notAMetricsFile(path: path, reason: "schema_version is not an integer")
        }
        guard v == schemaVersion else { throw MetricsError.unsupportedSchema(path: path, version: v) }
    }

    static func timestamp() -> String {
        let fmt = ISO8601DateFormatter()
        fmt.formatOptions = [.withInternetDateTime]
        fmt.timeZone = TimeZone(identifier: "UTC")
        return fmt.string(from: Date())
    }

}

/// One round read back from a metrics file.
public struct MetricsRound: Sendable {
    public var index: Int
    /// `completed = 1`: the round's `writeRound` returned.
    public var completed: Bool
    public var samples: [SampleRecord]
    public var sftSteps: [(step: Int, loss: Double)]
    /// Every attribute of the round group: seal's (`completed`, `round`, `n_samples`, ...) and the caller's.
    public var attributes: [String: HDF5Value]
}

/// One eval arm read back from a metrics file.
public struct MetricsEval: Sendable {
    public var arm: String
    public var accuracy: Double
    public var nQuestions: Int
    public var records: [EvalRecord]
    public var attributes: [String: HDF5Value]
}

/// Reads a metrics file (tests, resume logic, tools). Opening checks `schema_version`.
public struct MetricsReader: Sendable {
    public let path: String
    let file: HDF5File

    /// A live run's file holds its last commit and no lock; `locking: false` reads files that older seal versions
    /// locked while writing them in place.
    public init(path: String, locking: Bool = true) throws {
        self.path = path
        file = try HDF5File(path: path, access: .readOnly, options: HDF5File.Options(fileLocking: locking))
        try MetricsFile.checkSchema(file)
    }

    /// The root attributes (`schema_version`, `config`, `seed`, `world_size`, `model`, `created`, `status`, ...).
    public func rootAttributes() throws -> [String: HDF5Value] { try file.attributes(on: "/") }
    public func config() throws -> String { try file.stringAttribute("config") }
    public func status() throws -> String { try file.stringAttribute("status") }

    /// Indices of every round group in the file (complete or not), ascending.
    public func rounds() throws -> [Int] {
        try file.children(of: "/rounds").compactMap(MetricsFile.roundIndex).sorted()
    }

    /// Indices of the rounds with `completed = 1`, ascending.
    public func completedRounds() throws -> [Int] {
        try rounds().filter { try MetricsFile.isComplete(file, "/rounds/" + MetricsFile.roundName($0)) }
    }

    public func round(_ r: Int) throws -> MetricsRound {
        let g = "/rounds/" + MetricsFile.roundName(r)
        guard try file.exists(g) else { throw MetricsError.malformed(path: path, "no round \(r)") }
        let steps = try file.readInts(g + "/sft/step")
        let losses = try file.readDoubles(g + "/sft/loss")
        guard steps.count == losses.count else {
            throw MetricsError.malformed(path: path, "\(g)/sft: step has \(steps.count) rows, loss \(losses.count)")
        }
        return MetricsRound(index: r, completed: try MetricsFile.isComplete(file, g), samples: try samples(round: r),
                            sftSteps: zip(steps, losses).map { (step: $0, loss: $1) },
                            attributes: try file.attributes(on: g))
    }

    public func samples(round r: Int) throws -> [SampleRecord] {
        let s = "/rounds/" + MetricsFile.roundName(r) + "/samples/"
        let contextID = try file.readStrings(s + "context_id")
        let sampleIndex = try file.readInts(s + "sample_index")
        let rank = try file.readInts(s + "rank")
        let reward = try file.readDoubles(s + "reward")
        let baseline = try file.readDoubles(s + "baseline_score")
        let adapted = try file.readDoubles(s + "adapted_score")
        let innerLoss = try file.readDoubles(s + "inner_loss")
        let tokens = try file.readInts(s + "tokens")
        let seconds = try file.readDoubles(s + "seconds")
        let selfEdit = try file.readStrings(s + "self_edit")
        let status = try file.readStrings(s + "status")
        let kept = try file.readUInt8s(s + "kept")
        let n = contextID.count
        let counts = [sampleIndex.count, rank.count, reward.count, baseline.count, adapted.count, innerLoss.count,
                      tokens.count, seconds.count, selfEdit.count, status.count, kept.count]
        guard counts.allSatisfy({ $0 == n }) else {
            throw MetricsError.malformed(path: path, "\(s) columns have different lengths \([n] + counts)")
        }
        return (0..<n).map { i in
            SampleRecord(contextID: contextID[i], sampleIndex: sampleIndex[i], rank: rank[i], reward: reward[i],
                         baselineScore: baseline[i], adaptedScore: adapted[i], innerLoss: innerLoss[i],
                         tokens: tokens[i], seconds: seconds[i], selfEdit: selfEdit[i], status: status[i],
                         kept: kept[i] != 0)
        }
    }

    /// Names of the eval arms, in name order.
    public func evalArms() throws -> [String] { try file.children(of: "/evals") }

    public func eval(_ arm: String) throws -> MetricsEval {
        let g = "/evals/" + arm
        guard try file.exists(g) else { throw MetricsError.malformed(path: path, "no eval arm \"\(arm)\"") }
        let contextID = try file.readStrings(g + "/context_id")
        let question = try file.readStrings(g + "/question")
        let gold = try file.readStrings(g + "/gold")
        let prediction = try file.readStrings(g + "/prediction")
        let correct = try file.readUInt8s(g + "/correct")
        // `note` arrived with schema 1's later writers; files without it read as empty notes.
        let note = try file.exists(g + "/note") ? try file.readStrings(g + "/note") : [String](repeating: "", count: contextID.count)
        let n = contextID.count
        guard [question.count, gold.count, prediction.count, correct.count, note.count].allSatisfy({ $0 == n }) else {
            throw MetricsError.malformed(path: path, "\(g) columns have different lengths")
        }
        let attrs = try file.attributes(on: g)
        guard let accuracy = attrs["accuracy"]?.doubleValue, let nq = attrs["n_questions"]?.intValue else {
            throw MetricsError.malformed(path: path, "\(g) lacks accuracy or n_questions")
        }
        let records = (0..<n).map {
            EvalRecord(contextID: contextID[$0], question: question[$0], gold: gold[$0], prediction: prediction[$0],
                       correct: correct[$0] != 0, note: note[$0])
        }
        return MetricsEval(arm: arm, accuracy: accuracy, nQuestions: nq, records: records, attributes: attrs)
    }

    /// Closes the file now rather than when the last copy of this reader goes away.
    public func close() throws { try file.close() }
}
