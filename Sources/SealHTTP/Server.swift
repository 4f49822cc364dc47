import Foundation
internal import HTTPTypes
internal import Hummingbird
internal import HummingbirdCore
internal import Logging
internal import UnixSignals
internal import NIOCore
internal import NIOHTTPTypes

/// Limits of `HTTPServer`.
public struct ServerLimits: Sendable {
    /// Seconds a connection has, from when it opens (or its last reply ends), to deliver a whole request: head and
    /// body. Absolute: bytes arriving do not extend it, so a client trickling a byte a second is cut off.
    public var requestDeadline: Double = 20
    /// Largest request body (a larger one gets 413).
    public var maxBody = 16 << 20
    /// Largest request head: all header fields together, and any one of them.
    public var maxHeader = 64 << 10
    /// Connections served at once; more wait in the listen backlog.
    public var maxConnections = 1000
    public init() {}
}

/// What a handler answers: one response, or a stream of server-sent events (`text/event-stream`) whose chunks are
/// written as they come.
public enum ServerReply: Sendable {
    case response(HTTPResponse)
    case events(AsyncStream<Data>)
}

/// An HTTP/1.1 server on Hummingbird (SwiftNIO): many connections at once, each with an absolute deadline to send
/// its request, bounded heads and bodies. Handlers run as Swift tasks, never on the NIO event loops.
public final class HTTPServer: Sendable {
    public let host: String
    public let port: Int
    public let limits: ServerLimits

    public init(host: String, port: Int, limits: ServerLimits = ServerLimits()) {
        self.host = host; self.port = port; self.limits = limits
    }

    /// Serves until the process gets SIGTERM (in-flight requests finish first) or the listener fails. `onListening`
    /// gets the real port (the one the system chose for port 0) once connections are accepted.
    public func run(handler: @escaping @Sendable (HTTPRequest) async -> ServerReply, onListening: @escaping @Sendable (Int) -> Void) throws {
        let limits = self.limits
        let deadline = TimeAmount.milliseconds(Int64(min(max(limits.requestDeadline, 0.001), 86_400) * 1000))
        var http1 = HTTP1Channel.Configuration(
            additionalChannelHandlers: [RequestDeadlineHandler(deadline: deadline)] as [any RemovableChannelHandler],
            idleTimeout: nil,
            httpDecoderConfiguration: .init(maxHeaderFieldSize: limits.maxHeader, maxHeaderListSize: limits.maxHeader, maxHeaderFieldCount: 200))
        http1.idleTimeout = nil
        let responder = CallbackResponder<BasicRequestContext> { request, _ in
            await Self.respond(request, limits: limits, handler: handler)
        }
        let app = Application(
            responder: responder,
            server: .http1(configuration: http1),
            configuration: .init(address: .hostname(host, port: port), serverName: nil, backlog: 256, reuseAddress: true,
                                 availableConnectionsDelegate: MaximumAvailableConnections(limits.maxConnections)),
            onServerRunning: { channel in onListening(channel.localAddress?.port ?? 0) },
            logger: Self.quietLogger())
        let done = DispatchSemaphore(value: 0)
        let failure = FailureBox()
        Task {
            do { try await app.runService(gracefulShutdownSignals: [.sigterm]) } catch { failure.set(error) }
            done.signal()
        }
        done.wait()
        if let e = failure.get() { throw ServerError.cannotServe(host: host, port: port, detail: "\(e)") }
    }

    static func quietLogger() -> Logger {
        var l = Logger(label: "seal.serve")
        l.logLevel = .critical
        return l
    }

    static func respond(_ request: Request, limits: ServerLimits, handler: @Sendable (HTTPRequest) async -> ServerReply) async -> Response {
        if let cl = request.headers[.contentLength], let n = Int(cl), n > limits.maxBody {
            return Self.convert(tooLarge(limits))
        }
        var request = request
        let body: ByteBuffer
        do {
            body = try await request.collectBody(upTo: limits.maxBody)
        } catch is NIOTooManyBytesError {
            return Self.convert(tooLarge(limits))
        } catch {
            return Self.convert(.json(400, ["error": ["message": "could not read the request body: \(error)", "type": "invalid_request_error"]]))
        }
        var headers: [String: String] = [:]
        for f in request.headers { headers[f.name.canonicalName] = f.value }
        let path = request.uri.path
        let r = HTTPRequest(method: request.method.rawValue, path: path, headers: headers, body: Data(body.readableBytesView))
        switch await handler(r) {
        case .response(let resp): return Self.convert(resp)
        case .events(let stream):
            var fields = HTTPFields()
            fields[.contentType] = "text/event-stream"
            fields[.cacheControl] = "no-cache"
            return Response(status: .ok, headers: fields, body: ResponseBody { writer in
                for await chunk in stream { try await writer.write(ByteBuffer(bytes: chunk)) }
                try await writer.finish(nil)
            })
        }
    }

    static func tooLarge(_ limits: ServerLimits) -> HTTPResponse {
        .json(413, ["error": ["message": "request body larger than \(limits.maxBody) bytes", "type": "invalid_request_error"]])
    }

    static func convert(_ r: HTTPResponse) -> Response {
        var fields = HTTPFields()
        for (k, v) in r.headers.sorted(by: { $0.key < $1.key }) {
            if let name = HTTPField.Name(k) { fields[name] = v }
        }
        return Response(status: .init(code: r.status), headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: r.body)))
    }
}

public enum ServerError: Error, CustomStringConvertible, Sendable {
    case cannotServe(host: String, port: Int, detail: String)
    public var description: String {
        switch self { case .cannotServe(let h, let p, let d): return "cannot serve on \(h):\(p): \(d)" }
    }
}

final class FailureBox: @unchecked Sendable {
    private let lock = NSLock()
    private var error: (any Error)?
    func set(_ e: any Error) { lock.lock(); error = e; lock.unlock() }
    func get() -> (any Error)? { lock.lock(); defer { lock.unlock() }; return error }
}

/// Closes a connection that has not delivered a whole request (head and body) within `deadline` of opening, or of
/// its previous reply ending. The clock runs from those moments only: bytes that arrive do not restart it (unlike
/// an idle timeout), so a client sending a header byte a second holds its connection `deadline` at most. While a
/// request is being answered (waiting for the generator, streaming) no deadline applies.
final class RequestDeadlineHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    let deadline: TimeAmount
    private var timer: Scheduled<Void>?
    /// A request's head has arrived and its end not yet: the deadline still runs.
    private var answering = false

    init(deadline: TimeAmount) { self.deadline = deadline }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { arm(context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) { disarm() }

    func channelActive(context: ChannelHandlerContext) {
        if timer == nil && !answering { arm(context) }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        disarm()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .end = unwrapInboundIn(data) {
            answering = true
            disarm()
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) {
            answering = false
            arm(context)
        }
        context.write(data, promise: promise)
    }

    private func arm(_ context: ChannelHandlerContext) {
        disarm()
        let channel = context.channel
        timer = context.eventLoop.scheduleTask(in: deadline) { channel.close(promise: nil) }
    }

    private func disarm() {
        timer?.cancel()
        timer = nil
    }
}

/// Runs jobs one at a time, in arrival order, on one dedicated thread (8 MiB stack): for work that is synchronous,
/// CPU-heavy and not thread-safe (the generator), kept off the NIO event loops and the Swift task pool.
public final class SerialWorker: @unchecked Sendable {
    private let condition = NSCondition()
    private var jobs: [() -> Void] = []
    private var head = 0
    private var thread: Thread?

    public init(name: String) {
        let t = Thread { self.loop() }  // the worker lives as long as the process: its thread keeps it
        t.name = name
        t.stackSize = 8 << 20
        thread = t
        t.start()
    }

    /// Jobs waiting, not counting the one running.
    public var waiting: Int {
        condition.lock(); defer { condition.unlock() }
        return jobs.count - head
    }

    /// Queues `job`; it runs on the worker thread.
    public func enqueue(_ job: @escaping () -> Void) {
        condition.lock()
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    /// Runs `body` on the worker and returns its result to the caller's task.
    public func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<T, any Error>) in
            enqueue { c.resume(with: Result { try body() }) }
        }
    }

    private func loop() {
        while true {
            condition.lock()
            while head == jobs.count { condition.wait() }
            let job = jobs[head]
            head += 1
            if head > 1024 { jobs.removeFirst(head); head = 0 }
            condition.unlock()
            job()
        }
    }
}
