// A model directory whose config.json is the input and whose weights are a real checkpoint (TinyStories-656K,
// linked, not copied): TransformerModel.load checks the config against the tensors, sizes the parameter buffer and
// converts the weights. A config that asks for more than the checkpoint holds must be an error before it allocates
// (the harness runs under -malloc_limit_mb), never a trap or gigabytes.
import FuzzSupport
import Foundation
import SealModel

let directory: String = {
    Fuzz.cleanUpAtExit()
    let dir = Fuzz.scratchDirectory("model")
    let weights = Fuzz.repositoryRoot + "/../shared/models/tinystories-656k/model.safetensors"
    precondition(FileManager.default.fileExists(atPath: weights), "seal-fuzz: \(weights) is missing (set SEAL_ROOT)")
    try? FileManager.default.removeItem(atPath: dir + "/model.safetensors")
    do { try FileManager.default.createSymbolicLink(atPath: dir + "/model.safetensors", withDestinationPath: weights) } catch {
        fatalError("seal-fuzz: cannot link \(weights) into \(dir): \(error)")
    }
    return dir
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let dir = directory
    let path = dir + "/config.json"
    guard let f = fopen(path, "wb") else { fatalError("seal-fuzz: cannot write \(path)") }
    if size > 0 { _ = fwrite(data, 1, size, f) }
    fclose(f)
    _ = try? TransformerModel.load(directory: URL(fileURLWithPath: dir))
    return 0
}
