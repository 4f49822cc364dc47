// An ARC task file (arc.tasks, one task per JSON file as in the ARC-AGI repository) through ARCData.loadTaskFile.
import FuzzSupport
import SealARC

let scratch: Void = Fuzz.cleanUpAtExit()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    _ = scratch
    let path = Fuzz.writeScratch("task.json", data, size)
    _ = try? ARCData.loadTaskFile(path)
    return 0
}
