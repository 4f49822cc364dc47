import Foundation
import SealModel
import SealRuntime
import SealTrain

/// The engine as the command line sees it: a run's settings, the policy of this rank, and MPI; `runExperiment`
/// runs what `run.experiment` names (the ReSTEM rounds, continued pretraining or continual learning) and
/// `evaluateArms` the configured arms alone. Each experiment is a small type of its own (`ReSTEMRounds`,
/// `ContinuedPretraining`, `ContinualLearning`, `ArmEvaluator`) over the same two pieces: the `Policy` (sampling,
/// inner loops, answering; no MPI) and the `RunContext` (ranks, the metrics file, checkpoints, journals).
public final class ReSTEMEngine {
    public let domain: SelfEditDomain
    public let settings: EngineSettings
    public let mpi: MPIRuntime
    /// This rank's policy.
    public let policy: Policy
    /// Progress lines (rank 0 only), e.g. to stdout.
    public var log: (String) -> Void = { print($0) }
    /// Per-unit progress lines (rank 0); off with --quiet.
    public var verbose = true

    /// Decodes the settings (every error naming its key) before the model is loaded, then loads the policy.
    public init(domain: SelfEditDomain, config: ResolvedConfig, mpi: MPIRuntime) throws {
        self.domain = domain
        self.mpi = mpi
        settings = try EngineSettings(config)
        policy = try Policy(domain: domain, settings: settings)
    }

    /// The self-edit request and reinforcement pair of a context (see `Policy.selfEditPair`).
    public func selfEditPair(contextID: String, selfEdit: String) throws -> TextExample {
        try policy.selfEditPair(contextID: contextID, selfEdit: selfEdit)
    }

    /// The prompt tokens of a context's self-edit request.
    public func promptTokens(_ id: String) throws -> [Int32] { try policy.promptTokens(id) }

    /// Self-edits of the current policy (see `Policy.sampleSelfEdits`).
    public func sampleSelfEdits(_ ids: [String], round: Int, samples: Int? = nil) throws -> [String: [String]] {
        try policy.sampleSelfEdits(ids, round: round, samples: samples)
    }

    /// The experiment `run.experiment` names, writing `out` (HDF5, rank 0) and checkpoints and journals beside it.
    /// A run started again with the same command resumes; with a different configuration it is an error unless
    /// `overwrite` is set.
    public func runExperiment(out: String, overwrite: Bool) throws {
        try checkSplits(forTrain: true)
        Preemption.install()
        let run = try RunContext(mpi: mpi, settings: settings, out: out, overwrite: overwrite, log: log, verbose: verbose)
        switch settings.run.experiment {
        case .restem: try ReSTEMRounds(policy: policy, run: run).train()
        case .cpt: try ContinuedPretraining(policy: policy, run: run).train()
        case .continual: try ContinualLearning(policy: policy, run: run).train()
        }
    }

    /// Runs the configured evaluation arms with the starting policy. A file of the same configuration is resumed:
    /// arms already in it are kept, the others run (resuming from their journals).
    public func evaluateArms(out: String, overwrite: Bool) throws {
        Preemption.install()
        if settings.eval.arms.isEmpty { throw EngineError.setting(key: "eval.arms", "eval.arms is empty: nothing to evaluate") }
        try checkSplits(forTrain: false)
        let run = try RunContext(mpi: mpi, settings: settings, out: out, overwrite: overwrite, log: log, verbose: verbose)
        let done = try run.armsDone()
        if run.isRoot && !done.isEmpty { log("arms already done: \(done.joined(separator: ", "))") }
        try ArmEvaluator(policy: policy, run: run).evaluateMissing(settings.eval.arms)
        try run.finish(rounds: settings.run.rounds)
    }

    /// Before any work: every split this command will use has contexts (the domain's error names its file and
    /// filter otherwise), so that a run never evaluates arms for hours and then finds no training context, and
    /// never ends with exit 0 having run nothing.
    func checkSplits(forTrain: Bool) throws {
        let s = settings, arms = !s.eval.arms.isEmpty
        var splits: [String] = []
        if forTrain {
            switch s.run.experiment {
            case .restem:
                if s.run.rounds > 0 { splits.append("train") }
                if (s.eval.beforeTrain && arms) || (s.run.rounds > 0 && (s.eval.afterTrain || s.eval.eachRound)) { splits.append("eval") }
            case .cpt, .continual: splits.append("eval")
            }
        } else if arms {
            splits.append("eval")
        }
        if forTrain && s.eval.retention && s.run.experiment == .restem { splits.append("retention") }
        for split in splits {
            let n = try domain.contexts(split: split).count
            if n == 0 { throw EngineError.domain("the \(split) split has no contexts: nothing to run") }
        }
    }
}
