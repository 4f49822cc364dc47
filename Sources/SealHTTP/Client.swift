import CCurl
import Foundation

/// What went wrong with an HTTP exchange or URL. Every case names the URL.
public enum HTTPError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The URL is not an http:// or https:// URL with a host.
    case badURL(String, reason: String)
    /// The server's certificate could not be verified (unknown CA, wrong host name, expired); `detail` is libcurl's.
    case certificate(url: String, detail: String)
    /// The CA file given (grader.ca_file or SSL_CERT_FILE) cannot be read or parsed.
    case caFile(url: String, path: String, detail: String)
    /// No reply within the timeout.
    case timedOut(url: String, seconds: Double)
    /// The reply body is larger than the client accepts.
    case replyTooLarge(url: String, limit: Int)
    /// Any other transport failure (cannot resolve, cannot connect, proxy refused, connection reset, TLS error):
    /// libcurl's code and message.
    case transport(url: String, code: Int, detail: String)

    public var description: String {
        switch self {
        case .badURL(let u, let reason): return "\(u): \(reason)"
        case .certificate(let u, let d): return "\(u): the server's certificate could not be verified (\(d)); give the CA bundle that signed it with grader.ca_file or SSL_CERT_FILE"
        case .caFile(let u, let p, let d): return "\(u): cannot use the CA file \(p) (\(d))"
        case .timedOut(let u, let s): return "\(u): no reply within \(s) s"
        case .replyTooLarge(let u, let n): return "\(u): reply larger than \(n) bytes"
        case .transport(let u, let c, let d): return "\(u): \(d) (libcurl error \(c))"
        }
    }
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
}

/// A parsed http:// or https:// base URL.
public struct HTTPURL: Sendable, Equatable {
    /// "http" or "https".
    public var scheme: String
    public var host: String
    public var port: Int
    /// Path prefix without a trailing slash ("" or "/v1").
    public var path: String
    /// scheme://authority exactly as given (an IPv6 host keeps its brackets).
    public var origin: String

    public init(_ s: String) throws {
        let scheme: String
        if s.hasPrefix("http://") { scheme = "http" } else if s.hasPrefix("https://") { scheme = "https" } else {
            throw HTTPError.badURL(s, reason: "expected a URL like http://host:port or https://host/v1")
        }
        var rest = Substring(s.dropFirst(scheme.count + 3))
        var path = ""
        if let slash = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) {
            guard rest[slash] == "/" else { throw HTTPError.badURL(s, reason: "a base URL has no query or fragment") }
            path = String(rest[slash...]); rest = rest[..<slash]
        }
        while path.hasSuffix("/") { path.removeLast() }
        if rest.contains("@") { throw HTTPError.badURL(s, reason: "credentials in the URL are not supported (use grader.api_key_env)") }
        let authority = String(rest)
        var host = authority, port = scheme == "https" ? 443 : 80
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { throw HTTPError.badURL(s, reason: "unterminated IPv6 address") }
            let after = host[host.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":"), let p = Int(after.dropFirst()), (1...65535).contains(p) else { throw HTTPError.badURL(s, reason: "bad port") }
                port = p
            }
            host = String(host[host.index(after: host.startIndex)..<close])
        } else if let colon = host.lastIndex(of: ":") {
            guard let p = Int(host[host.index(after: colon)...]), (1...65535).contains(p) else { throw HTTPError.badURL(s, reason: "bad port") }
            port = p
            host = String(host[..<colon])
        }
        if host.isEmpty { throw HTTPError.badURL(s, reason: "no host") }
        if host.contains(where: { $0.isWhitespace || $0.isNewline }) { throw HTTPError.badURL(s, reason: "white space in the host") }
        self.scheme = scheme; self.host = host; self.port = port; self.path = path
        self.origin = "\(scheme)://\(authority)"
    }
}

/// TLS settings of the client.
public struct TLSOptions: Sendable, Equatable {
    /// PEM file of the certificate authorities to trust (nil: SSL_CERT_FILE when set, else the system's bundle).
    public var caFile: String?
    public init(caFile: String? = nil) { self.caFile = caFile }

    /// The CA file libcurl is given: `caFile`, else SSL_CERT_FILE, else nil (libcurl's built-in default, the
    /// system bundle).
    public func effectiveCAFile(environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        if let caFile, !caFile.isEmpty { return caFile }
        if let env = environment["SSL_CERT_FILE"], !env.isEmpty { return env }
        return nil
    }
}

/// One request, one reply, over libcurl: http and https (certificates verified, host names checked), proxies from
/// the environment as libcurl reads them (http_proxy, HTTPS_PROXY/https_proxy, ALL_PROXY, NO_PROXY/no_proxy).
public enum HTTPClient {
    /// libcurl's global state, set up once before the first handle (curl_global_init is not thread-safe).
    private static let initialized: Bool = seal_curl_global_init() == CURLE_OK

    /// Largest reply body accepted.
    public static let maxReply = 1 << 28

    /// Sends one request and returns the response (any status). Throws when the server cannot be reached or the
    /// exchange fails; the error names the URL.
    public static func send(_ request: HTTPRequest, to url: HTTPURL, timeout: Double = 120, tls: TLSOptions = TLSOptions()) throws -> HTTPResponse {
        let full = url.origin + request.path
        guard initialized else { throw HTTPError.transport(url: full, code: -1, detail: "libcurl failed to initialise") }
        guard timeout > 0, timeout.isFinite else { throw HTTPError.badURL(full, reason: "timeout must be a positive number of seconds") }
        guard let h = curl_easy_init() else { throw HTTPError.transport(url: full, code: -1, detail: "libcurl could not make a handle") }
        defer { curl_easy_cleanup(h) }

        let sink = ReplySink(limit: maxReply)
        let sinkPointer = Unmanaged.passUnretained(sink).toOpaque()
        var headerList: UnsafeMutablePointer<curl_slist>? = nil
        defer { curl_slist_free_all(headerList) }
        var names = Set<String>()
        for (k, v) in request.headers.sorted(by: { $0.key < $1.key }) {
            let name = k.lowercased()
            guard !name.contains(where: { $0 == ":" || $0 == "\r" || $0 == "\n" }), !v.contains(where: { $0 == "\r" || $0 == "\n" }) else {
                throw HTTPError.badURL(full, reason: "header '\(k)' has a colon or a line break in its name or a line break in its value")
            }
            names.insert(name)
            headerList = curl_slist_append(headerList, "\(k): \(v)")
        }
        // No "Expect: 100-continue" round trip for larger bodies.
        if !names.contains("expect") { headerList = curl_slist_append(headerList, "Expect:") }

        let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        defer { errorBuffer.deallocate() }

        let caFile = tls.effectiveCAFile()
        let ms = timeout * 1000 >= Double(Int32.max) ? Int(Int32.max) : max(1, Int(timeout * 1000))
        let code: CURLcode = request.body.withUnsafeBytes { bodyBytes in
            var rc = CURLE_OK
            func set(_ r: CURLcode) { if rc == CURLE_OK { rc = r } }
            set(seal_curl_setopt_string(h, CURLOPT_URL, full))
            set(seal_curl_setopt_long(h, CURLOPT_NOSIGNAL, 1))
            set(seal_curl_setopt_string(h, CURLOPT_PROTOCOLS_STR, "http,https"))
            set(seal_curl_setopt_long(h, CURLOPT_SSL_VERIFYPEER, 1))
            set(seal_curl_setopt_long(h, CURLOPT_SSL_VERIFYHOST, 2))
            if let caFile { set(seal_curl_setopt_string(h, CURLOPT_CAINFO, caFile)) }
            set(seal_curl_setopt_long(h, CURLOPT_TIMEOUT_MS, ms))
            set(seal_curl_setopt_long(h, CURLOPT_CONNECTTIMEOUT_MS, min(ms, 30_000)))
            set(seal_curl_setopt_pointer(h, CURLOPT_ERRORBUFFER, errorBuffer))
            set(seal_curl_setopt_slist(h, CURLOPT_HTTPHEADER, headerList))
            set(seal_curl_setopt_write(h, CURLOPT_WRITEFUNCTION, sealCurlWriteBody))
            set(seal_curl_setopt_pointer(h, CURLOPT_WRITEDATA, sinkPointer))
            set(seal_curl_setopt_write(h, CURLOPT_HEADERFUNCTION, sealCurlWriteHeader))
            set(seal_curl_setopt_pointer(h, CURLOPT_HEADERDATA, sinkPointer))
            switch request.method {
            case "GET": set(seal_curl_setopt_long(h, CURLOPT_HTTPGET, 1))
            default:
                if request.method != "POST" { set(seal_curl_setopt_string(h, CURLOPT_CUSTOMREQUEST, request.method)) }
                set(seal_curl_setopt_long(h, CURLOPT_POSTFIELDSIZE, bodyBytes.count))
                // libcurl reads the bytes during curl_easy_perform, inside this closure; an empty body still POSTs.
                set(seal_curl_setopt_pointer(h, CURLOPT_POSTFIELDS, UnsafeMutableRawPointer(mutating: bodyBytes.baseAddress ?? UnsafeRawPointer(errorBuffer))))
            }
            if rc != CURLE_OK { return rc }
            return curl_easy_perform(h)
        }
        guard code == CURLE_OK else {
            var detail = String(cString: errorBuffer)
            if detail.isEmpty { detail = String(cString: curl_easy_strerror(code)) }
            switch code {
            case CURLE_PEER_FAILED_VERIFICATION: throw HTTPError.certificate(url: full, detail: detail)
            case CURLE_SSL_CACERT_BADFILE: throw HTTPError.caFile(url: full, path: caFile ?? "(default)", detail: detail)
            case CURLE_OPERATION_TIMEDOUT: throw HTTPError.timedOut(url: full, seconds: timeout)
            case CURLE_WRITE_ERROR where sink.overflow: throw HTTPError.replyTooLarge(url: full, limit: maxReply)
            default: throw HTTPError.transport(url: full, code: Int(code.rawValue), detail: detail)
            }
        }
        var status = 0
        _ = seal_curl_getinfo_long(h, CURLINFO_RESPONSE_CODE, &status)
        return HTTPResponse(status: status, headers: sink.headers, body: sink.body)
    }
}

/// Where libcurl's callbacks put the reply.
final class ReplySink {
    let limit: Int
    var body = Data()
    var headers: [String: String] = [:]
    var overflow = false
    init(limit: Int) { self.limit = limit }
}

private func sealCurlWriteBody(_ data: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ user: UnsafeMutableRawPointer?) -> Int {
    guard let user, let data else { return 0 }
    let sink = Unmanaged<ReplySink>.fromOpaque(user).takeUnretainedValue()
    let (n, o) = size.multipliedReportingOverflow(by: count)
    guard !o, sink.body.count <= sink.limit - n else { sink.overflow = true; return 0 }
    sink.body.append(UnsafeRawPointer(data).assumingMemoryBound(to: UInt8.self), count: n)
    return n
}

private func sealCurlWriteHeader(_ data: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ user: UnsafeMutableRawPointer?) -> Int {
    guard let user, let data else { return 0 }
    let sink = Unmanaged<ReplySink>.fromOpaque(user).takeUnretainedValue()
    let (n, o) = size.multipliedReportingOverflow(by: count)
    guard !o else { return 0 }
    let line = String(decoding: UnsafeRawBufferPointer(start: data, count: n), as: UTF8.self)
    if line.hasPrefix("HTTP/") { sink.headers = [:]; return n }  // a new response (after 100 Continue or a proxy's CONNECT)
    if let colon = line.firstIndex(of: ":") {
        sink.headers[line[..<colon].trimmingCharacters(in: .whitespaces).lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespacesAndNewlines)
    }
    return n
}
