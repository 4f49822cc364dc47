import ArgumentParser
import Foundation
import SealCore
import SealEngine
import SealKernels
import SealModel

/// Entry point. The BLAS kernel choice happens before anything else (it may re-execute the program once: see
/// `BLASRuntime.ensureFastCore`), then the command line is parsed.
@main
struct SealMain {
    static func main() {
        BLASRuntime.ensureFastCore(arguments: CommandLine.arguments)
        Seal.main()
    }
}

struct Seal: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "seal",
        abstract: "Self-Adapting Language Models (SEAL) on CPUs and HPC clusters.",
        subcommands: [ModelCommand.self, ScoreCommand.self, GenerateCommand.self, FinetuneCommand.self, KnowledgeCommand.self, ARCCommand.self, GradeCommand.self, ServeCommand.self, TokenizeCommand.self, DetokenizeCommand.self,
                      TokenizerCommand.self, ToyWorldCommand.self, PretrainCommand.self,
                      BenchCommand.self, DebugCommand.self])
}

/// Options every compute command takes.
struct RuntimeOptions: ParsableArguments {
    @Option(help: "Threads for BLAS and seal's kernels (default: SLURM_CPUS_PER_TASK, else all cores).")
    var threads: Int?

    func apply() throws {
        if let t = threads, t <= 0 || t > EngineConfig.maxThreads { throw ValidationError("--threads must be 1–\(EngineConfig.maxThreads)") }
        BLASRuntime.setThreads(BLASRuntime.defaultThreads(explicit: threads, environment: ProcessInfo.processInfo.environment))
    }
}

/// Prints a JSON value on one line.
func printJSON(_ value: Any) {
    // JSON has no NaN or infinity (an accuracy over zero questions, say): such a value is written by JSONWriter
    // (as seal's other JSON files), never a crash.
    guard JSONSerialization.isValidJSONObject([value]), let data = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .withoutEscapingSlashes, .fragmentsAllowed]) else {
        print(JSONWriter.serialize(value, pretty: false))
        return
    }
    print(String(decoding: data, as: UTF8.self))
}

/// Runs `body`, turning any error into a message on stderr and exit code 1 (never a crash or a trace).
func reportingErrors<T>(_ body: () throws -> T) throws -> T {
    do { return try body() } catch let e as ValidationError { throw e } catch let e as ExitCode { throw e } catch {
        FileHandle.standardError.write(Data("seal: error: \(error)\n".utf8))
        throw ExitCode(1)
    }
}
