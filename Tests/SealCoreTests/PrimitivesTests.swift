import Foundation
import SealCore
import XCTest

/// The hash, the generators and the writer against values computed elsewhere.
final class PrimitivesTests: XCTestCase {
    func testFNV1a64() {
        // The published FNV-1a 64-bit test vectors.
        XCTAssertEqual(fnv1a64("".utf8), 0xCBF2_9CE4_8422_2325)
        XCTAssertEqual(fnv1a64("a".utf8), 0xAF63_DC4C_8601_EC8C)
        XCTAssertEqual(fnv1a64("foobar".utf8), 0x8594_4171_F739_67E8)
        XCTAssertEqual(fnv1a64([UInt8]("foobar".utf8)), fnv1a64("foobar".utf8))
    }

    func testSplitMix64() {
        // Vigna's splitmix64.c from seed 0.
        var r = SplitMix64(seed: 0)
        XCTAssertEqual([r.next(), r.next(), r.next()], [0xE220_A839_7B1D_CDAF, 0x6E78_9E6A_A1B9_65F4, 0x06C4_5D18_8009_454F])
        // CounterRNG's mixer is one SplitMix64 step as a pure function of the state.
        var s = SplitMix64(seed: 12345)
        XCTAssertEqual(s.next(), CounterRNG.mix(12345))
        var a = SplitMix64(seed: 9), b = SplitMix64(seed: 9)
        XCTAssertEqual(a.unit(), Double(b.next() >> 11) * 0x1p-53)
        XCTAssertEqual(Set(a.permutation(10)), Set(0..<10))
        XCTAssertEqual(a.bytes(3).count, 3)
    }

    func testCounterRNGIsAPureFunction() {
        let r = CounterRNG(seed: 7)
        XCTAssertEqual(r.bits(stream: 3, index: 11), CounterRNG(seed: 7).bits(stream: 3, index: 11))
        XCTAssertNotEqual(r.bits(stream: 3, index: 11), r.bits(stream: 4, index: 11))
        let u = r.uniform(stream: 1, index: 2)
        XCTAssertTrue(u >= 0 && u < 1)
        XCTAssertTrue(r.normal(stream: 1, index: 2).isFinite)
    }

    func testFloatBuffer() {
        let b = FloatBuffer(count: 5)
        XCTAssertEqual(Int(bitPattern: b.pointer) % 64, 0)
        XCTAssertEqual(Array(b.buffer), [0, 0, 0, 0, 0])
        XCTAssertEqual(FloatBuffer(count: 0).buffer.count, 0)
    }

    func testJSONWriter() {
        XCTAssertEqual(JSONWriter.quote("a\"b\\c\n\t\u{1}é"), #""a\"b\\c\n\t\u0001é""#)
        XCTAssertEqual(JSONWriter.serialize(["b": 32.0, "a": [1, true, NSNull()] as [Any], "c": "x"] as [String: Any], pretty: false),
                       #"{"a":[1,true,null],"b":32.0,"c":"x"}"#)
        XCTAssertTrue(isJSONBool(true))
        XCTAssertFalse(isJSONBool(NSNumber(value: 1)))
    }

    func testUTF8Validation() {
        XCTAssertNil([UInt8]("ascii é 😀".utf8).withUnsafeBufferPointer { firstInvalidUTF8($0) })
        for (bytes, at) in [([0x61, 0xC0, 0x80], 1), ([0xED, 0xA0, 0x80], 0), ([0xF4, 0x90, 0x80, 0x80], 0), ([0x61, 0x62, 0xE2, 0x82], 2)] as [([UInt8], Int)] {
            XCTAssertEqual(bytes.withUnsafeBufferPointer { firstInvalidUTF8($0) }, at, "\(bytes)")
            XCTAssertFalse(isValidUTF8(bytes))
        }
    }
}
