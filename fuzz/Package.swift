// swift-tools-version:6.0
// seal's libFuzzer harnesses: one executable per parser an outsider controls. A package of its own, depending on
// seal by path, so that a plain `swift build` / `make test` of seal neither builds nor instruments them. Built and
// run by `make fuzz` (fuzz/run.sh), which passes -Xswiftc -sanitize=fuzzer,address (one flag: SwiftPM's --sanitize=fuzzer --sanitize=address
// reach swiftc as two, of which it keeps one) and its own scratch path.
import Foundation
import PackageDescription

// A path dependency's identity is its directory's name (seal, main, wt-…), which `.product(package:)` must name.
let seal = URL(fileURLWithPath: Context.packageDirectory).deletingLastPathComponent().lastPathComponent.lowercased()

func harness(_ name: String, _ modules: [String]) -> Target {
    .executableTarget(name: "fuzz-\(name)", dependencies: ["FuzzSupport"] + modules.map { .product(name: $0, package: seal) },
                      path: "Sources/\(name)")
}

let package = Package(
    name: "seal-fuzz",
    dependencies: [.package(path: "..")],
    targets: [
        .target(name: "FuzzSupport", path: "Sources/FuzzSupport"),
        harness("safetensors", ["SealModel"]),
        harness("model-config", ["SealModel"]),
        harness("model-load", ["SealModel"]),
        harness("tokenizer-json", ["SealTokenizer"]),
        harness("tokenizer-encode", ["SealTokenizer"]),
        harness("toml", ["SealEngine"]),
        harness("config", ["SealEngine", "SealKnowledge", "SealARC", "SealToyWorld"]),
        harness("jsonl", ["SealTrain", "SealTokenizer"]),
        harness("grade", ["SealKnowledge"]),
        harness("passages", ["SealKnowledge"]),
        harness("arc-tasks", ["SealARC"]),
        harness("serve-request", ["SealHTTP"]),
        harness("gguf", ["SealModel"]),
    ]
)
