import Foundation
import XCTest
import SealEngine
import SealKnowledge

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
        XCTAssertTrue(try c.json.contains("\"run.seed\":7"))
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
        XCTAssertTrue(b.sameRun(asStored: try a.json))
        XCTAssertFalse(c.sameRun(asStored: try a.json))
        XCTAssertTrue(a.sameRun(asStored: try a.json))
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

    // MARK: ranges: one mechanism for every key

    static var knowledgeSchema: [ConfigKey] { EngineConfig.schema + KnowledgeDomain.schema }

    func resolveError(_ schema: [ConfigKey], _ overrides: [String], file: String? = nil) -> String? {
        do { _ = try ResolvedConfig.resolve(schema: schema, file: file, overrides: overrides); return nil } catch { return "\(error)" }
    }

    /// Every int and float key has a range, every default is in it, and the documentation shows it.
    func testEveryNumericKeyHasARangeAndValidDefault() throws {
        let schema = Self.knowledgeSchema
        for k in schema where k.kind == .int || k.kind == .double {
            XCTAssertNotNil(k.range, "\(k.name) has no range")
        }
        XCTAssertNoThrow(try ResolvedConfig.resolve(schema: schema, file: nil, overrides: []), "every default is valid")
        let doc = ResolvedConfig.documentation(schema)
        XCTAssertTrue(doc.contains("| `run.rounds` | int (0–999) |"), doc)
        XCTAssertTrue(doc.contains("| `sampling.top_p` | double ((0, 1]) |"), doc)
        XCTAssertTrue(doc.contains("| `knowledge.eval_shuffle_seed` | int (≥ -1) |"), doc)
        // A default out of its own range is a bug the schema itself reports.
        XCTAssertNotNil(resolveError([ConfigKey("a.b", .int, .int(0), "x", range: .atLeast(1))], []))
    }

    /// Any non-finite float where a number is meant — nan, inf, -inf, an overflowing literal — in a file or in
    /// --set is an error naming the key, for every float key of the schema (never a crash when the config is
    /// written as JSON).
    func testNonFiniteFloatsAreErrorsNamingTheKey() throws {
        let schema = Self.knowledgeSchema
        let f = NSTemporaryDirectory() + "nonfinite-\(UUID().uuidString).toml"
        defer { try? FileManager.default.removeItem(atPath: f) }
        var checked = 0
        for k in schema where k.kind == .double {
            for v in ["nan", "inf", "+inf", "-inf", "1e400", "-1e400", "1e309"] {
                let e = resolveError(schema, ["\(k.name)=\(v)"])
                XCTAssertNotNil(e, "\(k.name)=\(v) accepted")
                XCTAssertTrue(e?.contains("'\(k.name)'") == true && e?.contains("finite") == true, "\(k.name)=\(v): \(e ?? "")")
                let parts = k.name.split(separator: ".")
                try "[\(parts[0])]\n\(parts[1]) = \(v)\n".write(toFile: f, atomically: true, encoding: .utf8)
                let fe = resolveError(schema, [], file: f)
                XCTAssertTrue(fe?.contains(f) == true && fe?.contains("'\(k.name)'") == true, "\(k.name) = \(v) in a file: \(fe ?? "accepted")")
                checked += 1
            }
        }
        XCTAssertGreaterThan(checked, 100)
    }

    /// Every int key: one below its lowest and one above its highest value, a float (2.5, and 2.0), a string and
    /// a bool are errors naming the key; its bounds themselves are accepted.
    func testIntRangesAndTypesAreErrorsNamingTheKey() throws {
        let schema = Self.knowledgeSchema
        var checked = 0
        for k in schema where k.kind == .int {
            guard case .ints(let lo, let hi)? = k.range else { XCTFail("\(k.name): no int range"); continue }
            var bad = ["2.5", "2.0", "\"3\"", "true", "[1]", "99999999999999999999"]
            if lo > .min { bad.append("\(lo - 1)") }
            if hi < .max { bad.append("\(hi + 1)") }
            if lo > 0 { bad.append("0") }
            if lo >= 0 { bad.append("-1"); bad.append("\(Int.min)") }
            for v in bad {
                let e = resolveError(schema, ["\(k.name)=\(v)"])
                XCTAssertTrue(e?.contains("'\(k.name)'") == true, "\(k.name)=\(v): \(e ?? "accepted")")
                checked += 1
            }
            for v in [lo, hi] where v != .min {
                XCTAssertNil(resolveError(schema, ["\(k.name)=\(v)"]), "\(k.name)=\(v) is in range")
            }
        }
        XCTAssertGreaterThan(checked, 200)
        // The values the issue found silently accepted, each named.
        for o in ["run.rounds=-1", "run.contexts_per_round=-1", "knowledge.eval_count=-1", "knowledge.train_count=-5",
                  "inner.lora_rank=0", "inner.repeats=0", "sft.batch=0", "sampling.batch=0", "run.threads=-1",
                  "run.threads=100000", "sampling.samples=0", "sampling.samples=-3", "cpt.samples=0", "eval.samples=-1",
                  "sampling.temperature=-0.5", "sampling.top_p=1.01", "sampling.top_p=0", "sampling.top_p=-1",
                  "inner.lr=0", "inner.lr=-1e-3", "inner.epochs=0", "sft.epochs=1e9", "inner.lora_alpha=0",
                  "sft.max_grad_norm=-1", "grader.timeout=0", "grader.timeout=1e300", "grader.max_tokens=0"] {
            let key = String(o[..<o.firstIndex(of: "=")!])
            let e = resolveError(schema, [o])
            XCTAssertTrue(e?.contains("'\(key)'") == true, "\(o): \(e ?? "accepted")")
        }
        // Documented sentinels stay legal: 0 = all / auto / sampling.samples, -1 = file order.
        XCTAssertNil(resolveError(schema, ["run.contexts_per_round=0", "knowledge.eval_count=0", "run.threads=0", "eval.samples=0",
                                           "knowledge.eval_shuffle_seed=-1", "sampling.temperature=0", "sampling.top_p=1",
                                           "filter.threshold=-0.5", "inner.lr=1e30", "run.seed=-7"]))
    }

    /// String keys with a fixed set of values, and list keys: a bad item is named with its key; a single string
    /// is (documented) a comma-separated list.
    func testChoicesAndLists() throws {
        let schema = Self.knowledgeSchema
        for o in ["filter.mode=best", "reward.kind=\"\"", "inner.schedule=step", "sft.schedule=Linear", "run.experiment=rl",
                  "cpt.source=gpt", "knowledge.reward=f1", "knowledge.prompt=summary", "grader.kind=gpt4",
                  "inner.lora_targets=[]", "inner.lora_targets=\"\"", "inner.lora_targets=[\"q_proj\", \"x_proj\"]",
                  "sft.lora_targets=[1, 2]", "cpt.lora_targets=q_proj,,v_proj", "eval.arms=[\"bogus\"]", "inner.lora_targets=7"] {
            let key = String(o[..<o.firstIndex(of: "=")!])
            let e = resolveError(schema, [o])
            XCTAssertTrue(e?.contains("'\(key)'") == true, "\(o): \(e ?? "accepted")")
        }
        let c = try ResolvedConfig.resolve(schema: schema, file: nil, overrides: ["inner.lora_targets=\"q_proj\"", "sft.lora_targets=q_proj, v_proj",
                                                                                  "eval.arms=[]"])
        XCTAssertEqual(c.strings("inner.lora_targets"), ["q_proj"])
        XCTAssertEqual(c.strings("sft.lora_targets"), ["q_proj", "v_proj"])
        XCTAssertEqual(c.strings("eval.arms"), [])
        let f = NSTemporaryDirectory() + "list-\(UUID().uuidString).toml"
        defer { try? FileManager.default.removeItem(atPath: f) }
        try "[inner]\nlora_targets = \"q_proj\"\n".write(toFile: f, atomically: true, encoding: .utf8)
        XCTAssertEqual(try ResolvedConfig.resolve(schema: schema, file: f, overrides: []).strings("inner.lora_targets"), ["q_proj"])
    }

    /// The resolved config is always valid JSON (it used to be written with try!, which crashed on nan).
    func testJSONOfEveryResolvedConfig() throws {
        let c = try ResolvedConfig.resolve(schema: Self.knowledgeSchema, file: nil, overrides: ["inner.lr=1e300", "filter.threshold=-1e300"])
        let obj = try JSONSerialization.jsonObject(with: Data(try c.json.utf8)) as? [String: Any]
        XCTAssertEqual(obj?["inner.lr"] as? Double, 1e300)
        XCTAssertTrue(c.sameRun(asStored: try c.json))
        XCTAssertFalse(c.sameRun(asStored: "not json"))
    }

}
