// swift-tools-version:6.0
// seal — Self-Adapting Language Models on HPC clusters.
//
// Layers, from the metal up (each module has one job; a layer only imports the layers below it):
//   COpenBLAS / CMPI / CHDF5   system libraries + shims for the C macros Swift cannot import
//   CSealKernels               elementwise kernels in C, compiled per ISA (AVX-512 / AVX2 / baseline) and picked at load
//   SealKernels                BLAS runtime setup and the numeric kernels (plain functions on unsafe buffers)
//   SealModel                  HF config + safetensors loading, parameters, the decoder forward pass, model init
//   SealTokenizer              tokenizer.json: byte-level BPE and SentencePiece-style BPE
//   SealGenerate               KV-cached, continuously batched sampling; chat prompt formats
//   SealTrain                  AdamW, schedules, JSONL data, PEFT adapter files, the finetuning loop
//   SealRuntime                MPI and HDF5 wrappers (the only module that talks to them)
//   SealEngine                 configs, the domain protocol, the SPMD ReSTEM engine (sharding, rounds, resume)
//   SealHTTP                   minimal HTTP/1.1 over POSIX sockets (judge client, `seal serve`); no libcurl
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
        .library(name: "SealARC", targets: ["SealARC"]),
        .library(name: "SealToyWorld", targets: ["SealToyWorld"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        .systemLibrary(name: "COpenBLAS", path: "Sources/COpenBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CMPI", path: "Sources/CMPI", pkgConfig: "ompi-c",
                       providers: [.apt(["libopenmpi-dev"])]),
        .systemLibrary(name: "CHDF5", path: "Sources/CHDF5", pkgConfig: "hdf5",
                       providers: [.apt(["libhdf5-dev"])]),
        .target(name: "CSealKernels"),
        .target(name: "SealKernels", dependencies: ["COpenBLAS", "CSealKernels"]),
        .target(name: "SealTokenizer"),
        .target(name: "SealModel", dependencies: ["CSealKernels", "SealKernels"]),
        .target(name: "SealGenerate", dependencies: ["SealKernels", "SealModel", "SealTokenizer"]),
        .target(name: "SealTrain", dependencies: ["CSealKernels", "SealKernels", "SealModel", "SealTokenizer"]),
        .target(name: "SealRuntime", dependencies: ["CMPI", "CHDF5", "SealKernels"]),
        .target(name: "SealEngine", dependencies: ["SealKernels", "SealModel", "SealTokenizer", "SealGenerate", "SealTrain", "SealRuntime"]),
        .target(name: "SealHTTP"),
        .target(name: "SealKnowledge", dependencies: ["SealEngine", "SealGenerate", "SealHTTP", "SealModel", "SealTokenizer", "SealTrain"]),
        .target(name: "SealARC", dependencies: ["SealEngine", "SealGenerate", "SealModel", "SealTokenizer", "SealTrain"]),
        .target(name: "SealToyWorld", dependencies: ["SealKnowledge", "SealEngine", "SealKernels", "SealModel", "SealTokenizer", "SealTrain"]),

        .executableTarget(name: "seal", dependencies: [
            "CSealKernels", "SealKernels", "SealModel", "SealTokenizer", "SealGenerate", "SealTrain", "SealRuntime", "SealEngine", "SealKnowledge", "SealHTTP", "SealARC", "SealToyWorld",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        // Helpers every test module shares (the per-process scratch folder); not a test target itself.
        .target(name: "SealTestSupport", path: "Tests/SealTestSupport"),
        .testTarget(name: "SealModelTests", dependencies: ["SealKernels", "SealModel", "SealTokenizer", "SealTestSupport"]),
        .testTarget(name: "SealTokenizerTests", dependencies: ["SealTokenizer"]),
        .testTarget(name: "SealTrainTests", dependencies: ["SealTestSupport", "SealTrain", "SealModel", "SealTokenizer"]),
        .testTarget(name: "SealGenerateTests", dependencies: ["SealTestSupport", "SealGenerate", "SealKernels", "SealModel", "SealTokenizer"]),
        .testTarget(name: "SealEngineTests", dependencies: ["SealEngine", "SealKnowledge"]),
        .testTarget(name: "SealKnowledgeTests", dependencies: ["SealTestSupport", "SealEngine", "SealKnowledge", "SealModel", "SealTokenizer", "SealGenerate"]),
        .testTarget(name: "SealToyWorldTests", dependencies: ["SealTestSupport", "SealToyWorld", "SealKnowledge", "SealModel", "SealTokenizer", "SealTrain", "SealEngine"]),
        .testTarget(name: "SealRuntimeTests", dependencies: ["SealTestSupport", "SealRuntime"]),
        .testTarget(name: "SealARCTests", dependencies: ["SealARC", "SealEngine", "SealGenerate", "SealModel", "SealTokenizer", "SealTestSupport"]),
        // Runs the built `seal` binary as a user would: exit codes, messages, JSON output.
        .testTarget(name: "SealCLITests", dependencies: ["SealTestSupport", "seal", "SealKernels", "SealKnowledge", "SealHTTP", "SealARC"]),
    ]
)
