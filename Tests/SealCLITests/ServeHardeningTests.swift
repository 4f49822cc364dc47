import Foundation
#if canImport(Glibc)
import Glibc
#endif
import XCTest
import SealHTTP
import SealKnowledge
import SealTestSupport

/// A port nothing listens on (bound by the system, then closed).
func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    let ok = withUnsafeMutablePointer(to: &addr) { p in
        p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
    }
    guard ok else { throw NSError(domain: "freePort", code: Int(errno)) }
    return Int(UInt16(bigEndian: addr.sin_port))
}

/// A Python helper from Tests/Fixtures/http (a fake https endpoint, a proxy), stopped when the test ends.
final class PythonHelper {
    let process = Process()
    let port: Int
    struct DidNotStart: Error, CustomStringConvertible { var description: String }

    init(_ script: String, _ args: [String]) throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", CLIHarness.root.appendingPathComponent("Tests/Fixtures/http/\(script)").path] + args
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        var text = ""
        for _ in 0..<100 where !text.contains("\n") {
            let d = out.fileHandleForReading.availableData
            if d.isEmpty { break }
            text += String(decoding: d, as: UTF8.self)
        }
        guard text.hasPrefix("port "), let p = Int(text.dropFirst(5).trimmingCharacters(in: .whitespacesAndNewlines)) else {
            process.terminate()
            throw DidNotStart(description: "\(script) did not start: '\(text)' \(String(decoding: err.fileHandleForReading.availableData, as: UTF8.self))")
        }
        port = p
    }

    deinit { if process.isRunning { process.terminate(); process.waitUntilExit() } }
}

/// Runs a command line, returning its status and output.
func shell(_ args: [String], env: [String: String] = [:]) throws -> (status: Int32, out: String, err: String) {
    let r = try CLIHarness.run(URL(fileURLWithPath: "/usr/bin/env"), args, env: env)
    return (r.status, r.out, r.err)
}

final class ServeHardeningTests: XCTestCase {
    let cli = CLIHarness()

    /// 200 idle connections and a client trickling a header byte a second do not delay a normal request (answered
    /// within 2 s); the trickling client is cut off at its absolute deadline although its bytes keep coming, and
    /// the idle ones too.
    func testIdleAndTricklingClientsDoNotDelayOthers() throws {
        let server = try ServeProcess(model: CLIHarness.tiny, extra: ["--request-timeout", "4"])
        let body: [String: Any] = ["messages": [["role": "user", "content": "Once upon a time"]], "max_tokens": 8, "temperature": 0]
        XCTAssertEqual(try server.post("/v1/chat/completions", body).0, 200)  // warm

        let idle = try (0..<200).map { _ in try RawSocket(port: server.port) }
        let slow = try RawSocket(port: server.port)
        let request = Array("POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + String(repeating: "a", count: 60))
        let opened = Date()
        let trickler = Thread {
            for i in 0..<request.count {  // at most ~60 s; stops when the server closes the connection
                if !slow.send(String(request[i])) { return }
                Thread.sleep(forTimeInterval: 1)
            }
        }
        trickler.start()
        Thread.sleep(forTimeInterval: 1.5)
        let t0 = Date()
        let (status, o) = try server.post("/v1/chat/completions", body)
        let elapsed = Date().timeIntervalSince(t0)
        XCTAssertEqual(status, 200, "\(o)")
        XCTAssertLessThan(elapsed, 2.0, "a normal request waited \(elapsed) s behind 200 idle connections and a trickling client")

        // The trickler has sent a byte a second all along; its deadline (4 s from opening) closes it anyway.
        var closedAfter: Double? = nil
        for _ in 0..<40 where closedAfter == nil {
            if slow.closedByPeer() { closedAfter = Date().timeIntervalSince(opened) } else { Thread.sleep(forTimeInterval: 0.25) }
        }
        XCTAssertNotNil(closedAfter, "the trickling client was never cut off")
        if let c = closedAfter { XCTAssertLessThan(c, 8.0, "cut off only after \(c) s; the deadline is 4 s") }
        XCTAssertTrue(idle.allSatisfy { $0.closedByPeer() }, "idle connections outlived their deadline")
        XCTAssertEqual(try server.post("/v1/chat/completions", body).0, 200)
    }

    /// Every numeric field given as a huge, infinite, negative, fractional, boolean or string value is a 400 naming
    /// the field (never a crash); an unknown model is OpenAI's 404 model_not_found; the server keeps serving.
    func testBadFieldsAre400NamingTheField() throws {
        let server = try ServeProcess(model: CLIHarness.tiny)
        let integers = ["1e19", "1e20", "-1e300", "1e999", "-1e999", "2.9", "0.5", "true", "false", "\"5\"", "[1]", "{}",
                        "9223372036854775807", "-9223372036854775808", "18446744073709551616", "-7", "0"]
        var cases: [(path: String, json: String, field: String)] = []
        for field in ["max_tokens", "max_completion_tokens", "n"] {
            for v in integers { cases.append(("/v1/completions", #"{"prompt":"Once","\#(field)":\#(v)}"#, field)) }
        }
        for v in ["100000", "65"] { cases.append(("/v1/completions", #"{"prompt":"Once","n":\#(v),"max_tokens":2}"#, "n")) }
        for v in ["1000000", "9223372036854775807"] { cases.append(("/v1/completions", #"{"prompt":"Once","max_tokens":\#(v)}"#, "max_tokens")) }
        for v in ["-7", "-1", "1e20", "-1e300", "1e999", "2.5", "true", "\"1\"", "18446744073709551615"] {
            cases.append(("/v1/chat/completions", #"{"messages":[{"role":"user","content":"x"}],"max_tokens":2,"seed":\#(v)}"#, "seed"))
        }
        for v in ["-0.1", "2.5", "1e999", "-1e999", "true", "\"hot\""] {
            cases.append(("/v1/completions", #"{"prompt":"Once","max_tokens":2,"temperature":\#(v)}"#, "temperature"))
        }
        for v in ["0", "-1", "1.5", "1e999", "true", "\"all\""] {
            cases.append(("/v1/completions", #"{"prompt":"Once","max_tokens":2,"top_p":\#(v)}"#, "top_p"))
        }
        for v in ["\"yes\"", "1", "{}"] { cases.append(("/v1/completions", #"{"prompt":"Once","max_tokens":2,"stream":\#(v)}"#, "stream")) }
        cases.append(("/v1/completions", #"{"prompt":"Once","max_tokens":2,"stream_options":true}"#, "stream_options"))
        cases.append(("/v1/completions", #"{"prompt":"Once","max_tokens":2,"stop":[1]}"#, "stop"))
        cases.append(("/v1/completions", #"{"prompt":[1,2,3],"max_tokens":2}"#, "prompt"))
        cases.append(("/v1/chat/completions", #"{"model":7,"messages":[{"role":"user","content":"x"}]}"#, "model"))
        for c in cases {
            let (status, o) = try server.postRaw(c.path, Data(c.json.utf8))
            XCTAssertEqual(status, 400, "\(c.json) -> \(o)")
            let e = o["error"] as? [String: Any]
            let message = e?["message"] as? String ?? ""
            XCTAssertTrue(message.contains(c.field), "\(c.json): the message does not name \(c.field): \(message)")
            XCTAssertEqual(e?["param"] as? String, c.field, "\(c.json)")
        }
        for name in ["gpt-4.1", "tinystories", "", "TINYSTORIES-656K"] {
            let (status, o) = try server.post("/v1/chat/completions", ["model": name, "messages": [["role": "user", "content": "x"]], "max_tokens": 2])
            XCTAssertEqual(status, 404, "\(name)")
            let e = o["error"] as? [String: Any]
            XCTAssertEqual(e?["code"] as? String, "model_not_found")
            XCTAssertTrue((e?["message"] as? String ?? "").contains("'\(name)'"), "\(o)")
        }
        for broken in ["{", "[1,2]", "{\"prompt\": }", "nan", ""] {
            XCTAssertEqual(try server.postRaw("/v1/completions", Data(broken.utf8)).0, 400, broken)
        }
        // Legal edges are accepted: integral max_tokens as 2.0, seed 0, temperature 0 and 2, top_p 1, n 64.
        for ok in [#"{"prompt":"Once","max_tokens":2.0}"#, #"{"prompt":"Once","max_tokens":2,"seed":0,"temperature":2,"top_p":1}"#,
                   #"{"prompt":"Once","max_tokens":1,"n":64,"temperature":0}"#, #"{"prompt":"Once","max_tokens":2,"model":"tinystories-656k"}"#] {
            let (status, o) = try server.postRaw("/v1/completions", Data(ok.utf8))
            XCTAssertEqual(status, 200, "\(ok) -> \(o)")
        }
        XCTAssertTrue(server.process.isRunning)
    }

    /// Framing that crashed the hand-written parser (negative and 2^63-1 chunk sizes), oversized bodies (413)
    /// and heads: each answered or closed, and the server goes on.
    func testMalformedFramingAndSizeLimits() throws {
        let server = try ServeProcess(model: CLIHarness.tiny, extra: ["--request-timeout", "3"])
        let head = "POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        for framing in ["Transfer-Encoding: chunked\r\n\r\n-5\r\nabc\r\n0\r\n\r\n",
                        "Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n7fffffffffffffff\r\nabc\r\n0\r\n\r\n",
                        "Transfer-Encoding: chunked\r\n\r\nffffffffffffffffffff\r\n\r\n",
                        "Content-Length: -1\r\n\r\n{}",
                        "Content-Length: 99999999999999999999\r\n\r\n{}",
                        "Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}"] {
            let s = try RawSocket(port: server.port)
            s.send(head + framing)
            let reply = s.readAll()
            XCTAssertFalse(reply.hasPrefix("HTTP/1.1 200"), "\(framing) -> \(reply)")
            XCTAssertTrue(server.process.isRunning, framing)
        }
        // 413 for a body over 16 MiB, by Content-Length and by chunks.
        let big = Data(#"{"prompt":""#.utf8) + Data(repeating: UInt8(ascii: "a"), count: 17 << 20) + Data(#""}"#.utf8)
        XCTAssertEqual(try server.postRaw("/v1/completions", big).0, 413)
        let chunked = try RawSocket(port: server.port)
        chunked.send(head + "Transfer-Encoding: chunked\r\n\r\n")
        let piece = String(repeating: "a", count: 1 << 20)
        for _ in 0..<18 { if !chunked.send("100000\r\n" + piece + "\r\n") { break } }
        XCTAssertTrue(chunked.readAll().hasPrefix("HTTP/1.1 413"))
        // A 100 KiB header is refused.
        let r = try HTTPClient.send(HTTPRequest(method: "GET", path: "/health", headers: ["x-big": String(repeating: "b", count: 100 << 10)]), to: try HTTPURL(server.url))
        XCTAssertTrue([400, 431].contains(r.status), "\(r.status)")
        XCTAssertEqual(try HTTPClient.send(HTTPRequest(method: "GET", path: "/health"), to: try HTTPURL(server.url)).status, 200)
    }

    /// Parsed server-sent events of a reply: the JSON objects, and whether it ended with [DONE].
    func events(_ body: Data) throws -> (objects: [[String: Any]], done: Bool) {
        var objects: [[String: Any]] = [], done = false
        for block in String(decoding: body, as: UTF8.self).components(separatedBy: "\n\n") where !block.isEmpty {
            XCTAssertTrue(block.hasPrefix("data: "), block)
            let payload = block.dropFirst(6)
            if payload == "[DONE]" { done = true; continue }
            XCTAssertFalse(done, "data after [DONE]")
            objects.append(try JSONSerialization.jsonObject(with: Data(payload.utf8)) as! [String: Any])
        }
        return (objects, done)
    }

    /// stream: true sends the text token by token (more than one piece) as OpenAI's chunk objects, ending in
    /// [DONE]; the pieces add up to the non-streamed text, also with a stop string and with n > 1.
    func testStreamingMatchesTheWholeReply() throws {
        let server = try ServeProcess(model: CLIHarness.tiny)
        let url = try HTTPURL(server.url)
        func send(_ path: String, _ body: [String: Any]) throws -> HTTPResponse {
            try HTTPClient.send(HTTPRequest(method: "POST", path: path, headers: ["content-type": "application/json"],
                                            body: try JSONSerialization.data(withJSONObject: body)), to: url, timeout: 60)
        }
        for stop in [nil, "Lily", " the"] as [String?] {
            var chat: [String: Any] = ["messages": [["role": "user", "content": "Tom and Sue went to the park. They"]], "max_tokens": 24, "temperature": 0]
            if let stop { chat["stop"] = stop }
            let whole = try JSONSerialization.jsonObject(with: try send("/v1/chat/completions", chat).body) as! [String: Any]
            let wholeChoice = (whole["choices"] as! [[String: Any]])[0]
            let wholeText = (wholeChoice["message"] as! [String: Any])["content"] as! String
            chat["stream"] = true
            let r = try send("/v1/chat/completions", chat)
            XCTAssertEqual(r.status, 200)
            XCTAssertEqual(r.headers["content-type"], "text/event-stream")
            let (objects, done) = try events(r.body)
            XCTAssertTrue(done)
            XCTAssertTrue(objects.allSatisfy { $0["object"] as? String == "chat.completion.chunk" })
            let deltas = objects.compactMap { (($0["choices"] as? [[String: Any]])?.first?["delta"] as? [String: Any]) }
            XCTAssertEqual(deltas.first?["role"] as? String, "assistant")
            let pieces = deltas.compactMap { $0["content"] as? String }.filter { !$0.isEmpty }
            XCTAssertEqual(pieces.joined(), wholeText, "stop \(stop ?? "none")")
            XCTAssertGreaterThan(pieces.count, 1, "not streamed token by token")
            let finishes = objects.compactMap { ($0["choices"] as? [[String: Any]])?.first?["finish_reason"] as? String }
            XCTAssertEqual(finishes, [wholeChoice["finish_reason"] as! String])
        }
        // Completions with two prompts and n = 2: four choices, each stream equal to its whole text.
        var body: [String: Any] = ["prompt": ["Once upon a time", "The dog"], "max_tokens": 10, "temperature": 0.8, "n": 2, "seed": 11]
        let whole = try JSONSerialization.jsonObject(with: try send("/v1/completions", body).body) as! [String: Any]
        let texts = (whole["choices"] as! [[String: Any]]).map { $0["text"] as! String }
        body["stream"] = true
        body["stream_options"] = ["include_usage": true]
        let (objects, done) = try events(try send("/v1/completions", body).body)
        XCTAssertTrue(done)
        var streamed = [String](repeating: "", count: 4)
        for o in objects {
            XCTAssertEqual(o["object"] as? String, "text_completion")
            for c in o["choices"] as! [[String: Any]] { streamed[c["index"] as! Int] += c["text"] as! String }
        }
        XCTAssertEqual(streamed, texts)
        XCTAssertEqual(((objects.last?["usage"] as? [String: Any])?["completion_tokens"] as? Int), (whole["usage"] as! [String: Any])["completion_tokens"] as? Int)
        // A stream the generator refuses up front (prompt past the context) is a plain 400.
        let long = try send("/v1/completions", ["prompt": String(repeating: "dog ", count: 3000), "max_tokens": 4, "stream": true])
        XCTAssertEqual(long.status, 400)
    }

    /// A streaming client that goes away mid-stream stops its generation: the next request does not wait behind
    /// the tokens nobody will read. The streamed job is 32 times a job measured first (same tokens per sample, at
    /// temperature 2, where EOS is rare), so without cancelling the next request would wait for most of it.
    func testDisconnectedStreamStopsGenerating() throws {
        let server = try ServeProcess(model: CLIHarness.tiny)
        let small: [String: Any] = ["prompt": "Once upon a time", "max_tokens": 480, "n": 16, "temperature": 2, "seed": 1]
        let t0 = Date()
        XCTAssertEqual(try server.post("/v1/completions", small).0, 200)
        let unit = Date().timeIntervalSince(t0)
        var big = small
        big["prompt"] = (0..<8).map { "Story \($0): once upon a time" }
        big["n"] = 64
        big["stream"] = true
        let body = String(decoding: try JSONSerialization.data(withJSONObject: big), as: UTF8.self)
        let client = try RawSocket(port: server.port)
        XCTAssertTrue(client.send("POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n" + body))
        // The head, then the first event (perhaps in separate reads).
        var got = "", buffer = [UInt8](repeating: 0, count: 4096)
        for _ in 0..<50 where !got.contains("data: ") {
            let n = recv(client.fd, &buffer, buffer.count, 0)
            if n <= 0 { break }
            got += String(decoding: buffer[0..<n], as: UTF8.self)
        }
        XCTAssertTrue(got.contains("text/event-stream") && got.contains("data: "), "not an event stream: \(got.prefix(300))")
        shutdown(client.fd, Int32(SHUT_RDWR))
        let t1 = Date()
        let (status, o) = try server.post("/v1/completions", ["prompt": "Once", "max_tokens": 1])
        let waited = Date().timeIntervalSince(t1)
        XCTAssertEqual(status, 200, "\(o)")
        XCTAssertLessThan(waited, max(2.0, 4 * unit), "the next request waited \(waited) s; the abandoned job is ~\(32 * unit) s of decoding")
        XCTAssertTrue(server.process.isRunning)
    }

    /// Makes a self-signed certificate for 127.0.0.1 (and no other name) with the openssl CLI.
    func makeCertificate(in dir: URL) throws -> (cert: String, key: String) {
        let cert = dir.appendingPathComponent("cert.pem").path, key = dir.appendingPathComponent("key.pem").path
        let r = try shell(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "2",
                           "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"])
        XCTAssertEqual(r.status, 0, r.err)
        return (cert, key)
    }

    /// The judge over https to a server with a self-signed certificate: refused with a certificate error without
    /// its CA, accepted with grader.ca_file or SSL_CERT_FILE; a name the certificate does not carry is refused even
    /// with the CA; plain http still works.
    func testJudgeOverHTTPSVerifiesCertificates() throws {
        let dir = cli.tmp("tls")
        let (cert, key) = try makeCertificate(in: dir)
        let fake = try PythonHelper("fake_openai.py", ["https", cert, key])
        let base = "https://127.0.0.1:\(fake.port)/v1"
        let item = GradeItem(question: "q", gold: "a", prediction: "a")
        let request = HTTPRequest(method: "POST", path: "/v1/chat/completions", headers: ["content-type": "application/json"], body: Data("{}".utf8))
        let saved = ProcessInfo.processInfo.environment["SSL_CERT_FILE"]
        defer { if let saved { setenv("SSL_CERT_FILE", saved, 1) } else { unsetenv("SSL_CERT_FILE") } }
        unsetenv("SSL_CERT_FILE")

        XCTAssertThrowsError(try HTTPClient.send(request, to: try HTTPURL(base), timeout: 10)) { e in
            guard case HTTPError.certificate(let url, _)? = e as? HTTPError else { return XCTFail("not a certificate error: \(e)") }
            XCTAssertEqual(url, "https://127.0.0.1:\(fake.port)/v1/chat/completions")
        }
        let judge = try HTTPJudge(url: base, model: "gpt-4.1", timeout: 10)
        XCTAssertThrowsError(try judge.grade([item])) { e in
            XCTAssertTrue("\(e)".contains("certificate") && "\(e)".contains(base), "\(e)")
        }
        let withCA = try HTTPJudge(url: base, model: "gpt-4.1", timeout: 10, caFile: cert)
        XCTAssertEqual(try withCA.grade([item]).map(\.correct), [true])
        var settings = GraderSettings()
        settings.kind = "http"; settings.url = base; settings.caFile = cert
        XCTAssertEqual(try settings.makeGrader().grade([item]).map(\.raw), ["yes"])
        // The name must match too: the certificate is for 127.0.0.1, not localhost.
        XCTAssertThrowsError(try HTTPClient.send(request, to: try HTTPURL("https://localhost:\(fake.port)"), timeout: 10, tls: TLSOptions(caFile: cert))) { e in
            guard case HTTPError.certificate? = e as? HTTPError else { return XCTFail("not a certificate error: \(e)") }
        }
        // A CA file that is not one.
        let junk = dir.appendingPathComponent("junk.pem")
        try Data("not a certificate".utf8).write(to: junk)
        XCTAssertThrowsError(try HTTPClient.send(request, to: try HTTPURL(base), timeout: 10, tls: TLSOptions(caFile: junk.path))) { e in
            XCTAssertTrue(e is HTTPError && "\(e)".contains(base), "\(e)")
        }
        // SSL_CERT_FILE, in this process and for the command line.
        setenv("SSL_CERT_FILE", cert, 1)
        XCTAssertEqual(try HTTPJudge(url: base, model: "gpt-4.1", timeout: 10).grade([item]).map(\.correct), [true])
        unsetenv("SSL_CERT_FILE")
        let input = dir.appendingPathComponent("in.jsonl")
        try Data(#"{"question":"q","gold":"a","prediction":"a"}"#.utf8).write(to: input)
        let args = ["grade", "--input", input.path, "--json", "--grader", "http", "--judge-url", base, "--judge-api-model", "gpt-4.1"]
        let refused = try cli.seal(args, env: ["SSL_CERT_FILE": ""])
        XCTAssertEqual(refused.status, 1)
        XCTAssertTrue(refused.err.contains("certificate"), refused.err)
        let viaEnv = try cli.seal(args, env: ["SSL_CERT_FILE": cert])
        XCTAssertEqual(viaEnv.status, 0, viaEnv.err)
        XCTAssertTrue(viaEnv.out.contains("\"raw\":\"yes\""), viaEnv.out)
        let viaFlag = try cli.seal(args + ["--judge-ca-file", cert], env: ["SSL_CERT_FILE": ""])
        XCTAssertEqual(viaFlag.status, 0, viaFlag.err)
        XCTAssertTrue(viaFlag.out.contains("\"raw\":\"yes\""), viaFlag.out)
    }

    /// libcurl takes proxies from the environment: HTTPS_PROXY (and https_proxy) tunnels an https judge through
    /// the proxy; NO_PROXY (and no_proxy) naming the host bypasses it.
    func testJudgeHonoursProxyEnvironment() throws {
        let dir = cli.tmp("proxy")
        let (cert, key) = try makeCertificate(in: dir)
        let fake = try PythonHelper("fake_openai.py", ["https", cert, key])
        let log = dir.appendingPathComponent("proxy.log")
        let proxy = try PythonHelper("fake_openai.py", ["proxy", log.path])
        let input = dir.appendingPathComponent("in.jsonl")
        try Data(#"{"question":"q","gold":"a","prediction":"a"}"#.utf8).write(to: input)
        let base = "https://127.0.0.1:\(fake.port)/v1"
        let args = ["grade", "--input", input.path, "--json", "--grader", "http", "--judge-url", base, "--judge-api-model", "m"]
        func logged() -> [String] { ((try? String(contentsOf: log, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init) }
        let proxyURL = "http://127.0.0.1:\(proxy.port)"
        let clean = ["SSL_CERT_FILE": cert, "NO_PROXY": "", "no_proxy": "", "HTTPS_PROXY": "", "https_proxy": "", "ALL_PROXY": "", "all_proxy": ""]
        for variable in ["HTTPS_PROXY", "https_proxy"] {
            var env = clean
            env[variable] = proxyURL
            let before = logged().count
            let r = try cli.seal(args, env: env)
            XCTAssertEqual(r.status, 0, "\(variable): \(r.err)")
            XCTAssertEqual(Array(logged().dropFirst(before)), ["CONNECT 127.0.0.1:\(fake.port) HTTP/1.1"], variable)
            for bypass in ["NO_PROXY", "no_proxy"] {
                env[bypass] = "127.0.0.1"
                let n = logged().count
                let direct = try cli.seal(args, env: env)
                XCTAssertEqual(direct.status, 0, direct.err)
                XCTAssertEqual(logged().count, n, "\(bypass) did not bypass the proxy")
                env[bypass] = ""
            }
        }
        // A proxy that is not there is an error naming the URL, not a silent direct connection.
        var env = clean
        env["HTTPS_PROXY"] = "http://127.0.0.1:\(try freePort())"
        let r = try cli.seal(args, env: env)
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.err.contains(base), r.err)
    }

    /// The official openai Python client (in .venv-openai, made by scripts/openai-venv.sh) does chat, completions
    /// and both streamed against `seal serve`, and gets NotFoundError for another model.
    func testOfficialOpenAIClient() throws {
        let venv = try shell(["bash", CLIHarness.root.appendingPathComponent("scripts/openai-venv.sh").path])
        guard venv.status == 0, let python = venv.out.split(separator: "\n").last.map(String.init) else {
            return XCTFail("scripts/openai-venv.sh could not make the openai client's venv (needs PyPI): \(venv.err)")
        }
        let server = try ServeProcess(model: CLIHarness.tiny)
        let r = try shell([python, CLIHarness.root.appendingPathComponent("Tests/Fixtures/http/openai_client.py").path, server.url, "tinystories-656k"])
        XCTAssertEqual(r.status, 0, r.err)
        guard let o = try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any] else { return XCTFail(r.out) }
        let chat = o["chat"] as! [String: Any], chatStream = o["chat_stream"] as! [String: Any]
        let comp = o["completion"] as! [String: Any], compStream = o["completion_stream"] as! [String: Any]
        XCTAssertEqual(chat["object"] as? String, "chat.completion")
        XCTAssertFalse((chat["text"] as? String ?? "").isEmpty)
        XCTAssertEqual(chatStream["text"] as? String, chat["text"] as? String)
        XCTAssertEqual(chatStream["objects"] as? [String], ["chat.completion.chunk"])
        XCTAssertGreaterThan(chatStream["pieces"] as? Int ?? 0, 1)
        XCTAssertEqual(chatStream["finish"] as? [String], [chat["finish"] as! String])
        XCTAssertEqual(chatStream["usage"] as? [Int], [chat["completion_tokens"] as! Int])
        XCTAssertEqual(comp["object"] as? String, "text_completion")
        XCTAssertEqual(compStream["text"] as? String, comp["text"] as? String)
        XCTAssertEqual(compStream["finish"] as? [String], [comp["finish"] as! String])
        XCTAssertEqual(o["not_found"] as? Int, 404)
    }
}
