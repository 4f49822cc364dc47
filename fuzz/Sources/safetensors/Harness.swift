// The safetensors header (and data section) of a checkpoint or adapter file: SafeTensorsFile opens, checks and
// reads it. Every tensor the header declares is converted to float32, as loading a model does.
import FuzzSupport
import SealModel

let scratch: String = { Fuzz.cleanUpAtExit(); return Fuzz.scratchPath("model.safetensors") }()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let path = Fuzz.writeScratch("model.safetensors", data, size)
    _ = scratch
    guard let file = try? SafeTensorsFile(path: path) else { return 0 }
    for (_, info) in file.tensors {
        let out = UnsafeMutablePointer<Float>.allocate(capacity: max(info.count, 1))
        file.read(info, into: out)
        out.deallocate()
    }
    return 0
}
