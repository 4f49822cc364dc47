import ArgumentParser
import Foundation
import SealEngine
import SealKernels
import SealKnowledge
import SealRuntime

/// Options of every SPMD experiment command.
struct ExperimentOptions: ParsableArguments {
    @Option(help: "Experiment config (TOML).") var config: String
    @Option(help: "HDF5 metrics file (rank 0 writes it; checkpoints go beside it).") var out = "runs/run.h5"
    @Option(help: "Run seed (overrides run.seed).") var seed: Int?
    @Option(name: .customLong("set"), help: "Override a config key: key=value (repeatable).") var overrides: [String] = []
    @Flag(help: "Start over even if --out holds a run with another configuration.") var overwrite = false
    @Flag(help: "Only errors.") var quiet = false
    @Flag(help: "Progress as JSON lines.") var logJson = false
}

struct KnowledgeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "knowledge", abstract: "Knowledge incorporation: ReSTEM on passages, evaluated by questions without the passage.",
        subcommands: [Train.self, Eval.self, CPT.self, Continual.self, Config.self, KnowledgeGradeCommand.self])

    static var schema: [ConfigKey] { EngineConfig.schema + KnowledgeDomain.schema }

    struct Config: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print every configuration key with its default and meaning.")
        func run() throws { print(ResolvedConfig.documentation(KnowledgeCommand.schema)) }
    }

    struct Train: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Run the experiment run.experiment names: ReSTEM rounds, continued pretraining or continual learning (under mpirun: SPMD over ranks).")
        @OptionGroup var options: ExperimentOptions
        func run() throws { try KnowledgeCommand.launch(options) { try $0.runExperiment(out: options.out, overwrite: options.overwrite) } }
    }

    /// `train` with run.experiment = cpt (the interface; the stored config says cpt either way).
    struct CPT: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "cpt", abstract: "Continued pretraining over the eval split's passages (train with run.experiment = cpt).")
        @OptionGroup var options: ExperimentOptions
        func run() throws {
            var o = options
            o.overrides.append("run.experiment=cpt")
            try KnowledgeCommand.launch(o) { try $0.runExperiment(out: o.out, overwrite: o.overwrite) }
        }
    }

    /// `train` with run.experiment = continual.
    struct Continual: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Continual learning: sequences of merged self-edits, the forgetting matrix (train with run.experiment = continual).")
        @OptionGroup var options: ExperimentOptions
        func run() throws {
            var o = options
            o.overrides.append("run.experiment=continual")
            try KnowledgeCommand.launch(o) { try $0.runExperiment(out: o.out, overwrite: o.overwrite) }
        }
    }

    struct Eval: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Evaluate the configured arms (eval.arms) on the eval split.")
        @OptionGroup var options: ExperimentOptions
        func run() throws { try KnowledgeCommand.launch(options) { try $0.evaluateArms(out: options.out, overwrite: options.overwrite) } }
    }

    /// MPI, config, domain and engine set-up shared by the subcommands; any rank's error ends the job with its
    /// rank named.
    static func launch(_ options: ExperimentOptions, _ body: (ReSTEMEngine) throws -> Void) throws {
        try launchExperiment(options, schema: schema, domain: { try KnowledgeDomain(config: $0) }, body)
    }
}

/// MPI, config, domain and engine set-up of every `seal <domain> train|eval|...`: the config resolved against
/// `schema`, threads set, the engine's progress lines (plain, JSON or none), the output folder made; any rank's
/// error ends the job with its rank named, and a run stopped by SIGTERM (preemption) exits 143, as if the signal
/// had ended it, after saving its work.
func launchExperiment(_ options: ExperimentOptions, schema: [ConfigKey], domain makeDomain: (ResolvedConfig) throws -> SelfEditDomain,
                      _ body: (ReSTEMEngine) throws -> Void) throws {
    let mpi: MPIRuntime
    do { mpi = try MPIRuntime() } catch {
        FileHandle.standardError.write(Data("seal: error: \(error)\n".utf8)); throw ExitCode(1)
    }
    mpi.runOrAbort(exitCode: { $0 is Preempted ? 143 : 1 }) {
        var overrides = options.overrides
        if let s = options.seed { overrides.append("run.seed=\(s)") }
        let cfg = try ResolvedConfig.resolve(schema: schema, file: options.config, overrides: overrides)
        let t = cfg.int("run.threads")
        BLASRuntime.setThreads(BLASRuntime.defaultThreads(explicit: t > 0 ? t : nil, environment: ProcessInfo.processInfo.environment))
        let engine = try ReSTEMEngine(domain: try makeDomain(cfg), config: cfg, mpi: mpi)
        let quiet = options.quiet, json = options.logJson
        engine.verbose = !quiet
        engine.log = { line in
            if quiet { return }
            if json { printJSON(["event": "progress", "message": line]) } else { print(line) }
            fflush(nil)
        }
        let dir = URL(fileURLWithPath: options.out).deletingLastPathComponent()
        if mpi.isRoot { try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true) }
        try body(engine)
    }
    mpi.finalize()
}
