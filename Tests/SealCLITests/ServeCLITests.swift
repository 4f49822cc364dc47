import Foundation
#if canImport(Glibc)
import Glibc
#endif
import XCTest
import SealHTTP
import SealKnowledge
import SealTestSupport

/// A `seal serve` process started by the test (a real server on a real socket), stopped when the test ends.
final class ServeProcess {
    let process = Process()
    let url: String
    var port: Int { Int(url.split(separator: ":").last!)! }

    struct DidNotStart: Error, CustomStringConvertible { var output: String; var description: String { "seal serve did not start: '\(output)'" } }

    init(model: String, extra: [String] = []) throws {
        process.executableURL = CLIHarness.binary
        process.arguments = ["serve", "--model", model, "--port", "0", "--threads", "1"] + extra
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        var text = ""
        for _ in 0..<1000 where !text.contains("\n") {
            let d = out.fileHandleForReading.availableData
            if d.isEmpty { break }
            text += String(decoding: d, as: UTF8.self)
        }
        guard let r = text.range(of: #"http://[0-9.]+:[0-9]+"#, options: .regularExpression) else {
            process.terminate()
            throw DidNotStart(output: text)
        }
        url = String(text[r])
    }

    deinit {
        if process.isRunning { process.terminate(); process.waitUntilExit() }
    }

    func post(_ path: String, _ body: Any) throws -> (Int, [String: Any]) {
        try postRaw(path, try JSONSerialization.data(withJSONObject: body))
    }

    /// A body sent as given (for JSON that JSONSerialization would not write, such as 1e999).
    func postRaw(_ path: String, _ data: Data) throws -> (Int, [String: Any]) {
        let r = try HTTPClient.send(HTTPRequest(method: "POST", path: path, headers: ["content-type": "application/json"], body: data), to: try HTTPURL(url), timeout: 60)
        return (r.status, ((try? JSONSerialization.jsonObject(with: r.body)) as? [String: Any]) ?? ["raw": String(decoding: r.body, as: UTF8.self)])
    }
}

/// A plain TCP client socket on 127.0.0.1, for clients that misbehave on purpose.
final class RawSocket: @unchecked Sendable {
    let fd: Int32

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard fd >= 0, rc == 0 else { close(fd); throw NSError(domain: "RawSocket", code: Int(errno)) }
        var tv = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }
    deinit { close(fd) }

    /// false once the peer has closed the connection (or reset it).
    @discardableResult
    func send(_ s: String) -> Bool {
        let bytes = Array(s.utf8)
        return bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } == bytes.count
    }

    /// Whether the server closed the connection: a read that returns end of stream (or a reset) without waiting.
    func closedByPeer() -> Bool {
        var b = [UInt8](repeating: 0, count: 4096)
        for _ in 0..<100 {
            let n = recv(fd, &b, b.count, Int32(MSG_DONTWAIT))
            if n == 0 { return true }
            if n < 0 { return errno != EAGAIN && errno != EWOULDBLOCK }
        }
        return false
    }

    /// Everything until the server closes (at most 10 s, 1 MiB).
    func readAll() -> String {
        var out = [UInt8](), b = [UInt8](repeating: 0, count: 65536)
        for _ in 0..<64 {
            let n = recv(fd, &b, b.count, 0)
            if n <= 0 { break }
            out += b[0..<n]
        }
        return String(decoding: out, as: UTF8.self)
    }
}

final class ServeCLITests: XCTestCase {
    let cli = CLIHarness()

    /// The server's greedy chat completion is `seal generate`'s, token for token (tinystories has no chat format,
    /// so the message is the prompt); completions honour max_tokens, stop and n.
    func testServeAnswersLikeGenerate() throws {
        let server = try ServeProcess(model: CLIHarness.tiny)
        let prompt = "Tom and Sue went to the park. They"
        let (status, o) = try server.post("/v1/chat/completions", ["model": "tinystories-656k", "messages": [["role": "user", "content": prompt]], "temperature": 0, "max_tokens": 24])
        XCTAssertEqual(status, 200)
        let choice = (o["choices"] as! [[String: Any]])[0]
        let text = (choice["message"] as! [String: Any])["content"] as! String
        let g = try cli.seal(["generate", "--model", CLIHarness.tiny, "--prompt", prompt, "--max-new-tokens", "24", "--json", "--threads", "1"])
        XCTAssertEqual(g.status, 0, g.err)
        let ref = try JSONSerialization.jsonObject(with: Data(g.out.split(separator: "\n")[0].utf8)) as! [String: Any]
        XCTAssertEqual(text, ref["text"] as! String)
        XCTAssertEqual(choice["finish_reason"] as? String, ref["finish_reason"] as! String == "length" ? "length" : "stop")
        XCTAssertEqual((o["usage"] as! [String: Any])["completion_tokens"] as? Int, (ref["token_ids"] as! [Any]).count)

        let (s2, c) = try server.post("/v1/completions", ["prompt": ["Once upon a time", "The dog"], "max_tokens": 6, "temperature": 0.9, "n": 2, "seed": 5, "stop": ["zzz"]])
        XCTAssertEqual(s2, 200)
        let cs = c["choices"] as! [[String: Any]]
        XCTAssertEqual(cs.map { $0["index"] as! Int }, [0, 1, 2, 3])
        XCTAssertTrue(cs.allSatisfy { $0["finish_reason"] as? String == "length" || $0["finish_reason"] as? String == "stop" })
        // A stop string cuts the text before it.
        let (_, cut) = try server.post("/v1/completions", ["prompt": "Once upon a time", "max_tokens": 24, "temperature": 0, "stop": "Lily"])
        let cutText = (cut["choices"] as! [[String: Any]])[0]["text"] as! String
        XCTAssertFalse(cutText.contains("Lily"))
        XCTAssertEqual((cut["choices"] as! [[String: Any]])[0]["finish_reason"] as? String, "stop")

        // Bad requests are answered with 400 and a message; the server keeps serving.
        for bad: [String: Any] in [["messages": []], ["messages": [["role": "robot", "content": "x"]]], ["prompt": "x", "max_tokens": 0],
                                   ["prompt": "x", "stream": "yes"], ["prompt": "x", "max_tokens": 100_000]] {
            let path = bad["prompt"] != nil ? "/v1/completions" : "/v1/chat/completions"
            let (s, e) = try server.post(path, bad)
            XCTAssertEqual(s, 400, "\(bad)")
            XCTAssertNotNil((e["error"] as? [String: Any])?["message"] as? String)
        }
        let r = try HTTPClient.send(HTTPRequest(method: "GET", path: "/v1/models"), to: try HTTPURL(server.url))
        XCTAssertEqual(r.status, 200)
        XCTAssertTrue(String(decoding: r.body, as: UTF8.self).contains("tinystories-656k"))
        XCTAssertEqual(try HTTPClient.send(HTTPRequest(method: "GET", path: "/nothing"), to: try HTTPURL(server.url)).status, 404)
    }

    /// The HTTP judge against `seal serve`: each verdict carries the server's raw reply, which equals the local LLM
    /// judge's reply with the same model (greedy); a reply that says neither yes nor no counts as incorrect and is
    /// recorded as unparsed with its text.
    func testHTTPJudgeAgainstServe() throws {
        let server = try ServeProcess(model: CLIHarness.tiny)
        let items = [
            GradeItem(question: "Which NFL team represented the AFC at Super Bowl 50?", gold: "Denver Broncos", prediction: "The Denver Broncos."),
            GradeItem(question: "Who won?", golds: ["Denver", "the Broncos"], prediction: "Carolina."),
            GradeItem(question: "What is the dog's name?", gold: "Spot", prediction: "Spot"),
        ]
        for base in [server.url, server.url + "/v1"] {
            let judge = try HTTPJudge(url: base, model: "tinystories-656k", maxTokens: 12)
            let vs = try judge.grade(items)
            XCTAssertEqual(vs.count, 3)
            let local = try LLMJudge(modelDirectory: CLIHarness.tiny, maxTokens: 12)
            let replies = try local.ask([
                JudgePrompt.text(question: items[0].question, gold: "Denver Broncos", prediction: items[0].prediction),
                JudgePrompt.text(question: items[1].question, gold: "Denver", prediction: items[1].prediction),
                JudgePrompt.text(question: items[1].question, gold: "the Broncos", prediction: items[1].prediction),
                JudgePrompt.text(question: items[2].question, gold: "Spot", prediction: items[2].prediction),
            ])
            XCTAssertEqual(vs.map(\.raw), [replies[0], replies[1] + " | " + replies[2], replies[3]])
            XCTAssertEqual(try local.grade(items), vs)
            for v in vs {
                let replies = v.raw!.components(separatedBy: " | ").map(JudgePrompt.parse)
                XCTAssertEqual(v.correct, replies.contains(true))
                XCTAssertEqual(v.parsed, v.correct || !replies.contains(where: { $0 == nil }))
            }
            // tinystories writes stories, not verdicts: unparsed, incorrect, with the text kept.
            XCTAssertTrue(vs.contains { !$0.parsed && !$0.correct && !($0.raw ?? "").isEmpty })
        }

        // The same through the command line and through the grader settings of a run.
        let dir = cli.tmp("judge")
        let input = dir.appendingPathComponent("in.jsonl")
        try items.map { i -> String in
            let o: [String: Any] = ["question": i.question, "gold": i.golds, "prediction": i.prediction]
            return String(decoding: try JSONSerialization.data(withJSONObject: o), as: UTF8.self)
        }.joined(separator: "\n").write(to: input, atomically: true, encoding: .utf8)
        let viaHTTP = try cli.seal(["grade", "--input", input.path, "--json", "--grader", "http", "--judge-url", server.url, "--judge-api-model", "tinystories-656k", "--judge-max-tokens", "12"])
        XCTAssertEqual(viaHTTP.status, 0, viaHTTP.err)
        let viaLLM = try cli.seal(["grade", "--input", input.path, "--json", "--grader", "llm", "--judge-model", CLIHarness.tiny, "--judge-max-tokens", "12", "--threads", "1"])
        XCTAssertEqual(viaLLM.status, 0, viaLLM.err)
        XCTAssertEqual(viaHTTP.out, viaLLM.out)
        XCTAssertEqual(viaHTTP.out.split(separator: "\n").count, 3)
        XCTAssertTrue(viaHTTP.out.contains("\"raw\""))
        var settings = GraderSettings()
        settings.kind = "http"
        settings.url = server.url
        settings.maxTokens = 12
        settings.apiModel = "tinystories-656k"
        XCTAssertEqual(try settings.makeGrader().grade(items).map(\.raw), try HTTPJudge(url: server.url, model: "tinystories-656k", maxTokens: 12).grade(items).map(\.raw))
        // A model the server does not serve is its 404, named in the error, and not retried into a "no".
        let wrong = try HTTPJudge(url: server.url, model: "gpt-4.1", maxTokens: 12)
        XCTAssertThrowsError(try wrong.grade(items)) { XCTAssertTrue("\($0)".contains("404") && "\($0)".contains("gpt-4.1"), "\($0)") }
    }

    /// A judge whose server is not there is an error naming the URL, not a "no".
    func testHTTPJudgeUnreachable() throws {
        let port = try freePort()  // closed again: nothing listens there
        let judge = try HTTPJudge(url: "http://127.0.0.1:\(port)", model: "m")
        judge.attempts = 1
        XCTAssertThrowsError(try judge.grade([GradeItem(question: "q", gold: "a", prediction: "a")])) { e in
            XCTAssertTrue("\(e)".contains("127.0.0.1:\(port)"), "\(e)")
        }
        // https is a URL like any other now (no request is made here).
        XCTAssertEqual(try HTTPJudge(url: "https://api.openai.com/v1", model: "gpt-4.1").endpoint, "/v1/chat/completions")
        XCTAssertThrowsError(try HTTPJudge(url: "ftp://example.org", model: "m")) { XCTAssertTrue("\($0)".contains("grader.url"), "\($0)") }
        XCTAssertThrowsError(try HTTPJudge(url: "http://127.0.0.1:0", model: "m")) { XCTAssertTrue("\($0)".contains("bad port"), "\($0)") }
        XCTAssertThrowsError(try HTTPJudge(url: "https://127.0.0.1/v1", model: "m", caFile: "/nonexistent/ca.pem")) { XCTAssertTrue("\($0)".contains("grader.ca_file"), "\($0)") }
        XCTAssertThrowsError(try HTTPJudge(url: "localhost:8000", model: "m")) { XCTAssertTrue("\($0)".contains("grader.url")) }
        let empty = cli.tmp("judge-none").appendingPathComponent("empty.jsonl")
        try Data().write(to: empty)
        let r = try cli.seal(["grade", "--input", empty.path, "--grader", "http"])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.err.contains("grader.url"), r.err)
    }
}
