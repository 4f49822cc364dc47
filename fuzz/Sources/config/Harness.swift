// A job file resolved against each command's schema (knowledge train, arc, toyworld pretrain) as the commands
// resolve it: defaults, then the file; then every key read back as its type, the canonical JSON that goes into the
// run's HDF5 file, and the checks that run before any work (grader settings, the pretraining recipe's validate).
import FuzzSupport
import SealARC
import SealEngine
import SealKnowledge
import SealToyWorld

let schemas: [(String, [ConfigKey])] = [
    ("knowledge", EngineConfig.schema + KnowledgeDomain.schema),
    ("arc", EngineConfig.schema + ARCDomain.schema),
    ("pretrain", Pretrain.schema),
]

let scratch: String = { Fuzz.cleanUpAtExit(); return Fuzz.scratchPath("job.toml") }()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    _ = scratch
    let path = Fuzz.writeScratch("job.toml", data, size)
    for (name, schema) in schemas {
        guard let c = try? ResolvedConfig.resolve(schema: schema, file: path, overrides: []) else { continue }
        for k in schema {
            switch k.kind {
            case .int: _ = c.int(k.name)
            case .double: _ = c.double(k.name)
            case .string: _ = c.string(k.name)
            case .bool: _ = c.bool(k.name)
            case .strings: _ = c.strings(k.name)
            }
        }
        if let json = try? c.json { _ = c.sameRun(asStored: json) }
        switch name {
        case "knowledge": _ = try? GraderSettings(config: c).makeGraderIfLocal()
        case "pretrain": try? Pretrain.validate(c)
        default: break
        }
    }
    return 0
}

extension GraderSettings {
    /// The grader, for the kinds that need no model or server (llm and http would load or connect).
    func makeGraderIfLocal() throws -> AnswerGrading? { kind == "local" || kind == "contains" ? try makeGrader() : nil }
}
