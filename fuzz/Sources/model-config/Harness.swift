// A model directory's config.json: ModelConfig.parse, then what is derived from it before any weight is read
// (the parameter layout, i.e. every tensor's shape and offset, and the RoPE frequencies).
import FuzzSupport
import Foundation
import SealModel

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard let config = try? ModelConfig.parse(data: Fuzz.data(data, size), path: "config.json") else { return 0 }
    let layout = ParameterLayout(config: config)
    _ = layout.count
    _ = config.ropeInverseFrequencies()
    return 0
}
