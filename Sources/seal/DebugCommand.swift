import ArgumentParser
import Foundation

/// Hidden commands used by the test-suite to exercise multi-rank code paths under `mpirun`.
struct DebugCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "debug", abstract: "Internal self-tests (used by the test-suite).", shouldDisplay: false,
        subcommands: [])
}
