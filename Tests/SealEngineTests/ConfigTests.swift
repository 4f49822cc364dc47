import Foundation
import XCTest
import SealEngine

final class ConfigTests: XCTestCase {
    func testTOMLSubset() throws {
        let doc = try TOML.parse("""
        # comment
        title = "x" # trailing
        [model]
        path = '/m/dir'
        chat = true
        [inner]
        lr = 1e-3
        epochs = 10
        targets = ["q_proj", "v_proj"]
        note = \"\"\"
        line one
        line "two"\"\"\"
        [a.b]
        c = -3
        """, file: "t.toml")
        XCTAssertEqual(doc["title"], .string("x"))
        guard case .table(let m) = doc["model"]! else { return XCTFail() }
        XCTAssertEqual(m["path"], .string("/m/dir"))
        XCTAssertEqual(m["chat"], .bool(true))
        guard case .table(let i) = doc["inner"]! else { return XCTFail() }
        XCTAssertEqual(i["lr"], .double(1e-3))
        XCTAssertEqual(i["epochs"], .int(10))
        XCTAssertEqual(i["targets"], .array([.string("q_proj"), .string("v_proj")]))
        XCTAssertEqual(i["note"], .string("line one\nline \"two\""))
        XCTAssertThrowsError(try TOML.parse("a = 1\na = 2", file: "dup.toml")) { XCTAssertTrue("\($0)".contains("dup.toml:2")) }
        XCTAssertThrowsError(try TOML.parse("a = bare", file: "b.toml")) { XCTAssertTrue("\($0)".contains("b.toml:1")) }
        XCTAssertThrowsError(try TOML.parse("x = \"unterminated", file: "u.toml"))
    }

    func testResolveDefaultsFileAndOverrides() throws {
        let schema = [ConfigKey("inner.lr", .double, .double(1e-3), "lr"), ConfigKey("run.seed", .int, .int(0), "seed"),
                      ConfigKey("inner.targets", .strings, .array([.string("q_proj")]), "targets")]
        let f = NSTemporaryDirectory() + "cfg-\(UUID().uuidString).toml"
        try "[inner]\nlr = 2\n".write(toFile: f, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: f) }
        let c = try ResolvedConfig.resolve(schema: schema, file: f, overrides: ["run.seed=7", "inner.targets=q_proj,v_proj"])
        XCTAssertEqual(c.double("inner.lr"), 2)
        XCTAssertEqual(c.int("run.seed"), 7)
        XCTAssertEqual(c.strings("inner.targets"), ["q_proj", "v_proj"])
        XCTAssertTrue(c.json.contains("\"run.seed\":7"))
        XCTAssertThrowsError(try ResolvedConfig.resolve(schema: schema, file: nil, overrides: ["inner.lrr=1"])) { e in
            XCTAssertTrue("\(e)".contains("inner.lrr"))
        }
        try "[inner]\nlearning_rate = 2\n".write(toFile: f, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ResolvedConfig.resolve(schema: schema, file: f, overrides: [])) { e in
            XCTAssertTrue("\(e)".contains("inner.learning_rate") && "\(e)".contains(f))
        }
        XCTAssertThrowsError(try ResolvedConfig.resolve(schema: schema, file: nil, overrides: ["run.seed=abc"])) { e in
            XCTAssertTrue("\(e)".contains("run.seed"))
        }
    }

    /// A resumed run may change how it executes (threads), never what it computes.
    func testSameRunIgnoresOnlyExecutionKeys() throws {
        let schema = [ConfigKey("inner.lr", .double, .double(1e-3), "lr"), ConfigKey("run.threads", .int, .int(0), "threads")]
        let a = try ResolvedConfig.resolve(schema: schema, file: nil, overrides: ["run.threads=1"])
        let b = try ResolvedConfig.resolve(schema: schema, file: nil, overrides: ["run.threads=4"])
        let c = try ResolvedConfig.resolve(schema: schema, file: nil, overrides: ["run.threads=1", "inner.lr=0.01"])
        XCTAssertTrue(b.sameRun(asStored: a.json))
        XCTAssertFalse(c.sameRun(asStored: a.json))
        XCTAssertTrue(a.sameRun(asStored: a.json))
    }

    func testShardingIsBalancedAndDeterministic() {
        let cs = (0..<10).map { ContextInfo(id: "c\($0)", cost: Double(10 - $0)) }
        let s2 = shard(cs, ranks: 2)
        XCTAssertEqual(s2.flatMap { $0 }.map(\.id).sorted(), cs.map(\.id).sorted())
        let loads = s2.map { $0.reduce(0) { $0 + $1.cost } }
        XCTAssertLessThanOrEqual(abs(loads[0] - loads[1]), 10)
        XCTAssertEqual(shard(cs.reversed(), ranks: 2).map { $0.map(\.id) }, s2.map { $0.map(\.id) })
        XCTAssertEqual(shard(cs, ranks: 1)[0].count, 10)
    }
}
