import Foundation
import XCTest
import SealTestSupport
import SealRuntime

/// The native shims link and work: MPI as a single rank without mpirun, HDF5 round trips through a real file.
final class RuntimeTests: XCTestCase {
    func testMPISingleRank() throws {
        let mpi = try MPIRuntime()
        XCTAssertEqual(mpi.size, 1)
        XCTAssertEqual(mpi.rank, 0)
        var v: [Float] = [1, 2, 3]
        try v.withUnsafeMutableBufferPointer { try mpi.allreduceSum($0.baseAddress!, count: 3) }
        XCTAssertEqual(v, [1, 2, 3])
        try mpi.barrier()
    }

    func testHDF5RoundTrip() throws {
        let path = scratchRoot.appendingPathComponent("seal-h5-\(UUID().uuidString).h5").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            let f = try HDF5File(creating: path)
            try f.createGroup("/rounds/round_000/samples")
            try f.write([0.5, 1.5, -2.25], at: "/rounds/round_000/samples/reward")
            try f.setAttribute("config", "{\"seed\": 1, \"name\": \"é\"}")
            try f.flush()
        }
        let r = try HDF5File(reading: path)
        XCTAssertEqual(try r.readDoubles("/rounds/round_000/samples/reward"), [0.5, 1.5, -2.25])
        XCTAssertEqual(try r.stringAttribute("config"), "{\"seed\": 1, \"name\": \"é\"}")
        XCTAssertThrowsError(try r.readDoubles("/missing")) { e in XCTAssertTrue("\(e)".contains(path)) }
    }

    func testHDF5ErrorNamesFile() {
        XCTAssertThrowsError(try HDF5File(reading: "/nonexistent/dir/x.h5")) { e in
            XCTAssertTrue("\(e)".contains("/nonexistent/dir/x.h5"))
        }
    }
}
