// swift-tools-version:6.1
// seal — Self-Adapting Language Models on HPC clusters.
//
// Layers, from the metal up (each module has one job; a layer only imports the layers below it):
//   COpenBLAS / CMPI / CHDF5   system libraries + shims for the C macros Swift cannot import
//   CCurl                      libcurl (system library) + a shim for its variadic curl_easy_setopt/getinfo
//   CSealKernels               elementwise kernels in C, compiled per ISA (AVX-512 / AVX2 / baseline) and picked at load
//   SealCore                   the small shared pieces: buffers, counter RNG, hashes, one JSON reader and writer
//   SealKernels                BLAS runtime setup and the numeric kernels (plain functions on unsafe buffers)
//   SealModel                  HF config + safetensors loading, parameters, the decoder forward pass, model init
//   SealTokenizer              tokenizer.json: byte-level BPE and SentencePiece-style BPE
//   SealGenerate               KV-cached, continuously batched sampling; chat prompt formats
//   SealTrain                  AdamW, schedules, JSONL data, PEFT adapter files, the finetuning loop
//   SealRuntime                MPI and HDF5 wrappers (the only module that talks to them; no knowledge of what a run writes)
//   SealEngine                 typed settings decoded once from the config, the domain protocol, the policy (sampling,
//                              inner loops, answering), the one journaled work runner, and the experiments over them
//                              (ReSTEM rounds, evaluation arms, CPT, continual learning), SPMD over MPI ranks
//   SealHTTP                   HTTP: the judge's client on libcurl (https, proxies, CA bundles) and `seal serve`'s
//                              server on Hummingbird/SwiftNIO (concurrent, absolute per-request deadlines, size limits)
//   SealKnowledge              knowledge incorporation (SQuAD-style passages): prompts, self-edit rules, grading
//   SealARC                    few-shot ARC: tasks, grid text, augmentations, TTT data, self-edit configs, voting
//   SealToyWorld               the embedded default: fictional people, their biographies and questions, the
//                              pretraining corpus, and the recipe that pretrains the toy model on it
//   seal                       the command-line program
import PackageDescription

let package = Package(
    name: "seal",
    products: [
        .executable(name: "seal", targets: ["seal"]),
        // The parsers an outsider controls, for the libFuzzer harnesses in fuzz/ (a package of its own that depends
        // on this one by path, so that `swift build` here neither builds nor instruments them).
        .library(name: "SealModel", targets: ["SealModel"]),
        .library(name: "SealTokenizer", targets: ["SealTokenizer"]),
        .library(name: "SealTrain", targets: ["SealTrain"]),
        .library(name: "SealEngine", targets: ["SealEngine"]),
        .library(name: "SealKnowledge", targets: ["SealKnowledge"]),
        .library(name: "SealHTTP", targets: ["SealHTTP"]),
        .library(name: "SealARC", targets: ["SealARC"]),
        .library(name: "SealToyWorld", targets: ["SealToyWorld"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // `seal serve`. Its default trait ConfigurationSupport (swift-configuration) is left off: seal configures
        // the server in code, and the package is one fewer to build.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: ["FullFoundation"]),
        // Already in the graph through Hummingbird; named so that SealHTTP can import the types its server setup uses
        // (the deadline handler in the NIO pipeline, header fields, the logger, the shutdown signal).
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.0"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.34.1"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.14.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.0.0"),
    ],
    targets: [
        .systemLibrary(name: "COpenBLAS", path: "Sources/COpenBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CMPI", path: "Sources/CMPI", pkgConfig: "ompi-c",
                       providers: [.apt(["libopenmpi-dev"])]),
        .systemLibrary(name: "CHDF5", path: "Sources/CHDF5", pkgConfig: "hdf5",
                       providers: [.apt(["libhdf5-dev"])]),
        .systemLibrary(name: "CCurl", path: "Sources/CCurl", pkgConfig: "libcurl",
                       providers: [.apt(["libcurl4-openssl-dev"])]),
        .target(name: "CSealKernels"),
        .target(name: "SealCore"),
        .target(name: "SealKernels", dependencies: ["COpenBLAS", "CSealKernels"]),
        .target(name: "SealTokenizer", dependencies: ["SealCore"]),
        .target(name: "SealModel", dependencies: ["SealCore", "CSealKernels", "SealKernels"]),
        .target(name: "SealGenerate", dependencies: ["SealCore", "SealKernels", "SealModel", "SealTokenizer"]),
        .target(name: "SealTrain", dependencies: ["SealCore", "CSealKernels", "SealKernels", "SealModel", "SealTokenizer"]),
        .target(name: "SealRuntime", dependencies: ["CMPI", "CHDF5", "SealKernels"]),
        .target(name: "SealEngine", dependencies: ["SealCore", "SealKernels", "SealModel", "SealTokenizer", "SealGenerate", "SealTrain", "SealRuntime"]),
        .target(name: "SealHTTP", dependencies: [
            "SealCore", "CCurl",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdCore", package: "hummingbird"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "UnixSignals", package: "swift-service-lifecycle"),
        ]),
        .target(name: "SealKnowledge", dependencies: ["SealCore", "SealEngine", "SealGenerate", "SealHTTP", "SealModel", "SealTokenizer", "SealTrain"]),
        .target(name: "SealARC", dependencies: ["SealCore", "SealEngine", "SealGenerate", "SealModel", "SealTokenizer", "SealTrain"]),
        .target(name: "SealToyWorld", dependencies: ["SealCore", "SealKnowledge", "SealEngine", "SealKernels", "SealModel", "SealTokenizer", "SealTrain"]),

        .executableTarget(name: "seal", dependencies: [
            "SealCore", "CSealKernels", "SealKernels", "SealModel", "SealTokenizer", "SealGenerate", "SealTrain", "SealRuntime", "SealEngine", "SealKnowledge", "SealHTTP", "SealARC", "SealToyWorld",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        // Helpers every test module shares (the per-process scratch folder); not a test target itself.
        .target(name: "SealTestSupport", dependencies: ["SealCore"], path: "Tests/SealTestSupport"),
        .testTarget(name: "SealCoreTests", dependencies: ["SealCore"]),
        .testTarget(name: "SealModelTests", dependencies: ["SealCore", "SealKernels", "SealModel", "SealTokenizer", "SealGenerate", "SealTestSupport"]),
        .testTarget(name: "SealTokenizerTests", dependencies: ["SealCore", "SealTokenizer"]),
        .testTarget(name: "SealTrainTests", dependencies: ["SealCore", "SealKernels", "SealTestSupport", "SealTrain", "SealModel", "SealTokenizer"]),
        .testTarget(name: "SealGenerateTests", dependencies: ["SealCore", "SealTestSupport", "SealGenerate", "SealKernels", "SealModel", "SealTokenizer"]),
        .testTarget(name: "SealEngineTests", dependencies: ["SealEngine", "SealKnowledge", "SealTestSupport", "SealRuntime", "SealTrain", "SealTokenizer", "SealGenerate", "SealModel"]),
        .testTarget(name: "SealKnowledgeTests", dependencies: ["SealCore", "SealTestSupport", "SealEngine", "SealKnowledge", "SealModel", "SealTokenizer", "SealGenerate"]),
        .testTarget(name: "SealToyWorldTests", dependencies: ["SealCore", "SealTestSupport", "SealToyWorld", "SealKnowledge", "SealModel", "SealTokenizer", "SealTrain", "SealEngine"]),
        .testTarget(name: "SealRuntimeTests", dependencies: ["SealTestSupport", "SealRuntime"]),
        .testTarget(name: "SealARCTests", dependencies: ["SealCore", "SealARC", "SealEngine", "SealGenerate", "SealModel", "SealTokenizer", "SealTestSupport"]),
        // Runs the built `seal` binary as a user would: exit codes, messages, JSON output.
        .testTarget(name: "SealCLITests", dependencies: ["SealCore", "SealTestSupport", "seal", "SealKernels", "SealKnowledge", "SealHTTP", "SealARC", "SealRuntime", "SealEngine"]),
    ]
)
