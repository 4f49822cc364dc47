import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Minimal HTTP/1.1 over POSIX sockets: enough for an OpenAI-compatible judge client and `seal serve`, with no
/// dependency on libcurl (FoundationNetworking) so the binary starts on any node. One request per connection
/// (`Connection: close`); bodies by Content-Length, or chunked in responses. Plain http:// only: clusters serve
/// their models on internal addresses; put a TLS-terminating proxy in front of an https:// API.
public struct HTTPError: Error, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

public struct HTTPRequest: Sendable {
    public var method: String
    /// The request target without the query string.
    public var path: String
    /// Header names lower-cased.
    public var headers: [String: String]
    public var body: Data
    public init(method: String, path: String, headers: [String: String] = [:], body: Data = Data()) {
        self.method = method; self.path = path; self.headers = headers; self.body = body
    }
}

public struct HTTPResponse: Sendable {
    public var status: Int
    /// Header names lower-cased.
    public var headers: [String: String]
    public var body: Data
    public init(status: Int, headers: [String: String] = [:], body: Data = Data()) {
        self.status = status; self.headers = headers; self.body = body
    }

    public static func json(_ status: Int, _ object: Any) -> HTTPResponse {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        return HTTPResponse(status: status, headers: ["content-type": "application/json"], body: data)
    }

    static func reason(_ status: Int) -> String {
        switch status {
        case 200: "OK"
        case 400: "Bad Request"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 413: "Payload Too Large"
        case 500: "Internal Server Error"
        default: "Status"
        }
    }
}

/// A connected socket with a read buffer.
final class Connection {
    let fd: Int32
    var buffer = [UInt8]()

    init(fd: Int32) { self.fd = fd }
    deinit { close(fd) }

    func setTimeout(_ seconds: Double) {
        var tv = timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - Double(Int(seconds))) * 1e6))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    func write(_ data: Data) throws {
        var sent = 0
        let bytes = [UInt8](data)
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw HTTPError("send failed: \(String(cString: strerror(errno)))")
            }
            sent += n
        }
    }

    /// Reads more bytes into the buffer; false at end of stream.
    func fill() throws -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n > 0 { buffer += chunk[0..<n]; return true }
            if n == 0 { return false }
            if errno == EINTR { continue }
            if errno == EAGAIN || errno == EWOULDBLOCK { throw HTTPError("timed out waiting for data") }
            throw HTTPError("recv failed: \(String(cString: strerror(errno)))")
        }
    }

    /// The header block (up to the blank line), removed from the buffer.
    func readHead(limit: Int = 1 << 16) throws -> String {
        let sep: [UInt8] = [13, 10, 13, 10]
        var searchFrom = 0
        while true {
            if buffer.count >= 4 {
                var i = max(0, searchFrom - 3)
                while i + 4 <= buffer.count {
                    if buffer[i] == 13 && buffer[i + 1] == 10 && buffer[i + 2] == 13 && buffer[i + 3] == 10 {
                        let head = String(decoding: buffer[0..<i], as: UTF8.self)
                        buffer.removeFirst(i + sep.count)
                        return head
                    }
                    i += 1
                }
                searchFrom = buffer.count
            }
            if buffer.count > limit { throw HTTPError("header block larger than \(limit) bytes") }
            guard try fill() else { throw HTTPError("connection closed before the end of the headers") }
        }
    }

    func readExactly(_ n: Int) throws -> [UInt8] {
        while buffer.count < n { guard try fill() else { throw HTTPError("connection closed after \(buffer.count) of \(n) body bytes") } }
        let out = Array(buffer[0..<n])
        buffer.removeFirst(n)
        return out
    }

    func readLine() throws -> String {
        while true {
            if let i = buffer.firstIndex(of: 10) {
                let line = String(decoding: buffer[0..<i], as: UTF8.self).trimmingCharacters(in: CharacterSet(charactersIn: "\r"))
                buffer.removeFirst(i + 1)
                return line
            }
            guard try fill() else { throw HTTPError("connection closed inside a chunked body") }
        }
    }

    func readToEnd() throws -> [UInt8] {
        while try fill() {}
        let out = buffer
        buffer = []
        return out
    }

    /// A message body as its headers describe it: chunked, Content-Length, or (responses only) until close.
    func readBody(headers: [String: String], untilCloseAllowed: Bool, limit: Int) throws -> Data {
        if headers["transfer-encoding"]?.lowercased().contains("chunked") == true {
            var body = [UInt8]()
            while true {
                let sizeLine = try readLine()
                guard let size = Int(sizeLine.split(separator: ";")[0].trimmingCharacters(in: .whitespaces), radix: 16) else {
                    throw HTTPError("bad chunk size '\(sizeLine)'")
                }
                if size == 0 {
                    while try !readLine().isEmpty {}
                    return Data(body)
                }
                if body.count + size > limit { throw HTTPError("body larger than \(limit) bytes") }
                body += try readExactly(size)
                _ = try readLine()
            }
        }
        if let cl = headers["content-length"] {
            guard let n = Int(cl.trimmingCharacters(in: .whitespaces)), n >= 0 else { throw HTTPError("bad Content-Length '\(cl)'") }
            if n > limit { throw HTTPError("body of \(n) bytes is larger than \(limit) bytes") }
            return Data(try readExactly(n))
        }
        return untilCloseAllowed ? Data(try readToEnd()) : Data()
    }

    static func parseHeaders(_ lines: ArraySlice<Substring>) throws -> [String: String] {
        var headers: [String: String] = [:]
        for line in lines where !line.isEmpty {
            guard let colon = line.firstIndex(of: ":") else { throw HTTPError("bad header line '\(line)'") }
            headers[line[..<colon].trimmingCharacters(in: .whitespaces).lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return headers
    }
}

/// A parsed http:// URL.
public struct HTTPURL: Sendable, Equatable {
    public var host: String
    public var port: Int
    /// Path prefix without a trailing slash ("" or "/v1").
    public var path: String

    public init(_ s: String) throws {
        guard s.hasPrefix("http://") else {
            if s.hasPrefix("https://") { throw HTTPError("\(s): https is not supported by seal's HTTP client; use an http:// endpoint (on a cluster: the server's internal address, or a local TLS-terminating proxy)") }
            throw HTTPError("\(s): expected a URL like http://host:port")
        }
        var rest = Substring(s.dropFirst(7))
        var path = ""
        if let slash = rest.firstIndex(of: "/") { path = String(rest[slash...]); rest = rest[..<slash] }
        while path.hasSuffix("/") { path.removeLast() }
        var host = String(rest), port = 80
        if host.hasPrefix("["), let close = host.firstIndex(of: "]") {
            let after = host[host.index(after: close)...]
            if after.hasPrefix(":") { guard let p = Int(after.dropFirst()) else { throw HTTPError("\(s): bad port") }; port = p }
            host = String(host[host.index(after: host.startIndex)..<close])
        } else if let colon = host.lastIndex(of: ":") {
            guard let p = Int(host[host.index(after: colon)...]), (1...65535).contains(p) else { throw HTTPError("\(s): bad port") }
            port = p
            host = String(host[..<colon])
        }
        if host.isEmpty { throw HTTPError("\(s): no host") }
        self.host = host; self.port = port; self.path = path
    }
}

public enum HTTPClient {
    /// Sends one request and returns the response (any status). Throws when the server cannot be reached or the
    /// reply is not HTTP; the message names the URL.
    public static func send(_ request: HTTPRequest, to url: HTTPURL, timeout: Double = 120) throws -> HTTPResponse {
        let where_ = "http://\(url.host):\(url.port)\(request.path)"
        do {
            let conn = try connect(host: url.host, port: url.port, timeout: timeout)
            var head = "\(request.method) \(request.path) HTTP/1.1\r\nHost: \(url.host):\(url.port)\r\nConnection: close\r\n"
            head += "Content-Length: \(request.body.count)\r\n"
            for (k, v) in request.headers.sorted(by: { $0.key < $1.key }) where k != "content-length" && k != "host" && k != "connection" {
                head += "\(k): \(v)\r\n"
            }
            head += "\r\n"
            try conn.write(Data(head.utf8) + request.body)
            let responseHead = try conn.readHead()
            let lines = responseHead.split(separator: "\r\n", omittingEmptySubsequences: false)
            let statusParts = lines[0].split(separator: " ", maxSplits: 2)
            guard statusParts.count >= 2, statusParts[0].hasPrefix("HTTP/1."), let status = Int(statusParts[1]) else {
                throw HTTPError("not an HTTP response: '\(lines[0])'")
            }
            let headers = try Connection.parseHeaders(lines.dropFirst())
            let body = try conn.readBody(headers: headers, untilCloseAllowed: true, limit: 1 << 28)
            return HTTPResponse(status: status, headers: headers, body: body)
        } catch let e as HTTPError {
            throw HTTPError("\(request.method) \(where_): \(e.message)")
        }
    }

    static func connect(host: String, port: Int, timeout: Double) throws -> Connection {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var res: UnsafeMutablePointer<addrinfo>? = nil
        let rc = getaddrinfo(host, String(port), &hints, &res)
        guard rc == 0, let first = res else { throw HTTPError("cannot resolve \(host): \(String(cString: gai_strerror(rc)))") }
        defer { freeaddrinfo(res) }
        var lastError = "no address"
        var ai: UnsafeMutablePointer<addrinfo>? = first
        while let a = ai {
            let fd = socket(a.pointee.ai_family, a.pointee.ai_socktype, a.pointee.ai_protocol)
            if fd >= 0 {
                let conn = Connection(fd: fd)
                conn.setTimeout(timeout)
                if Glibc.connect(fd, a.pointee.ai_addr, a.pointee.ai_addrlen) == 0 { return conn }
                lastError = String(cString: strerror(errno))
            }
            ai = a.pointee.ai_next
        }
        throw HTTPError("cannot connect: \(lastError)")
    }
}

/// A sequential HTTP/1.1 server: one connection at a time, one request per connection.
public final class HTTPServer {
    let fd: Int32
    /// The port it listens on (the one the system chose when asked for port 0).
    public let port: Int
    public let host: String
    /// Largest request body accepted.
    public var maxBody = 16 << 20

    public init(host: String, port: Int) throws {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_PASSIVE
        var res: UnsafeMutablePointer<addrinfo>? = nil
        let rc = getaddrinfo(host, String(port), &hints, &res)
        guard rc == 0, let a = res else { throw HTTPError("cannot resolve \(host): \(String(cString: gai_strerror(rc)))") }
        defer { freeaddrinfo(res) }
        let s = socket(a.pointee.ai_family, a.pointee.ai_socktype, a.pointee.ai_protocol)
        guard s >= 0 else { throw HTTPError("socket failed: \(String(cString: strerror(errno)))") }
        var one: Int32 = 1
        setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        guard bind(s, a.pointee.ai_addr, a.pointee.ai_addrlen) == 0 else {
            let msg = String(cString: strerror(errno)); close(s)
            throw HTTPError("cannot listen on \(host):\(port): \(msg)")
        }
        guard listen(s, 64) == 0 else {
            let msg = String(cString: strerror(errno)); close(s)
            throw HTTPError("listen failed: \(msg)")
        }
        var storage = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let got = withUnsafeMutablePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(s, $0, &len) } }
        var actual = port
        if got == 0 {
            if Int32(storage.ss_family) == AF_INET {
                actual = Int(withUnsafePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin_port) } })
            } else if Int32(storage.ss_family) == AF_INET6 {
                actual = Int(withUnsafePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin6_port) } })
            }
        }
        self.fd = s
        self.port = actual
        self.host = host
    }

    deinit { close(fd) }

    /// Accepts connections forever (until `shouldStop` returns true after a request), answering each with
    /// `handler`. A request that cannot be parsed gets a 400 and the server goes on.
    public func serve(readTimeout: Double = 30, shouldStop: () -> Bool = { false }, handler: (HTTPRequest) -> HTTPResponse) {
        while true {
            let c = accept(fd, nil, nil)
            if c < 0 { if errno == EINTR { continue }; continue }
            let conn = Connection(fd: c)
            conn.setTimeout(readTimeout)
            let response: HTTPResponse
            do {
                let head = try conn.readHead()
                let lines = head.split(separator: "\r\n", omittingEmptySubsequences: false)
                let parts = lines[0].split(separator: " ")
                guard parts.count == 3, parts[2].hasPrefix("HTTP/1.") else { throw HTTPError("bad request line '\(lines[0])'") }
                let headers = try Connection.parseHeaders(lines.dropFirst())
                let body: Data
                do { body = try conn.readBody(headers: headers, untilCloseAllowed: false, limit: maxBody) } catch let e as HTTPError where e.message.contains("larger than") {
                    try? Self.write(.json(413, ["error": ["message": e.message, "type": "invalid_request_error"]]), to: conn)
                    continue
                }
                let target = String(parts[1])
                let path = target.split(separator: "?", maxSplits: 1).first.map(String.init) ?? target
                response = handler(HTTPRequest(method: String(parts[0]), path: path, headers: headers, body: body))
            } catch {
                response = .json(400, ["error": ["message": "\(error)", "type": "invalid_request_error"]])
            }
            try? Self.write(response, to: conn)
            if shouldStop() { return }
        }
    }

    static func write(_ r: HTTPResponse, to conn: Connection) throws {
        var head = "HTTP/1.1 \(r.status) \(HTTPResponse.reason(r.status))\r\nConnection: close\r\nContent-Length: \(r.body.count)\r\n"
        for (k, v) in r.headers.sorted(by: { $0.key < $1.key }) where k != "content-length" && k != "connection" { head += "\(k): \(v)\r\n" }
        head += "\r\n"
        try conn.write(Data(head.utf8) + r.body)
    }
}
