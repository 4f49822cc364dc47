// A job file (jobs/*.toml, --config) through seal's TOML reader, and every line of it as a `--set` value.
import FuzzSupport
import SealEngine

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = Fuzz.text(data, size)
    if let doc = try? TOML.parse(text, file: "job.toml") { for (_, v) in doc { _ = v.description } }
    for line in text.split(separator: "\n").prefix(64) { _ = TOML.parseValue(String(line)).description }
    return 0
}
