import Foundation
import SealCore

/// Text input files read strictly: UTF-8 checked (an invalid byte is an error naming the file, the line and the byte
/// offset, never a silent U+FFFD), lines split on LF with an optional CR before it (CRLF files are valid input) and
/// numbered as physical lines (1-based, blank lines counted), as an editor shows them.
public enum TextInput {
    public enum Error: Swift.Error, CustomStringConvertible, Equatable {
        /// `offset`: of the first invalid byte from the start of the file; `line`: the physical line holding it.
        case invalidUTF8(path: String, line: Int, offset: Int)
        case lineTooLong(path: String, line: Int, bytes: Int, limit: Int)
        case unreadable(path: String)

        public var description: String {
            switch self {
            case .invalidUTF8(let p, let l, let o):
                return "\(p):\(l): invalid UTF-8 at byte offset \(o) of the file"
            case .lineTooLong(let p, let l, let b, let limit):
                return "\(p):\(l): line is \(b) bytes, over the limit of \(limit) bytes"
            case .unreadable(let p): return "\(p): cannot read the file"
            }
        }
    }

    /// One physical line: its 1-based number and its text without the line end.
    public struct Line: Sendable, Equatable {
        public var number: Int
        public var text: String
        /// True when the line holds nothing but white space.
        public var isBlank: Bool { text.utf8.allSatisfy { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D || $0 == 0x0B || $0 == 0x0C } }
    }

    /// The longest line `lines` accepts by default (64 MiB): far over any real row, and it keeps a runaway file
    /// without line ends from being handled as one line.
    public static let defaultLineLimit = 64 << 20

    /// The bytes of `path` (`-` for standard input).
    public static func read(_ path: String) throws -> Data {
        if path == "-" { return FileHandle.standardInput.readDataToEndOfFile() }
        guard let d = FileManager.default.contents(atPath: path) else { throw Error.unreadable(path: path) }
        return d
    }

    /// `data` as a string, or an error naming the first invalid byte (and its line).
    public static func decode(_ data: Data, path: String) throws -> String {
        try data.withUnsafeBytes { raw in
            let bytes = raw.bindMemory(to: UInt8.self)
            if let bad = firstInvalidUTF8(bytes) {
                let line = 1 + bytes[..<bad].reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
                throw Error.invalidUTF8(path: path, line: line, offset: bad)
            }
            return String(decoding: bytes, as: UTF8.self)
        }
    }

    /// The physical lines of `data` (a final line end does not start an empty last line), each checked for UTF-8
    /// and length. CR before LF is dropped; so is a UTF-8 byte-order mark at the start of the file.
    public static func lines(_ data: Data, path: String, lineLimit: Int = defaultLineLimit) throws -> [Line] {
        try data.withUnsafeBytes { raw -> [Line] in
            let all = raw.bindMemory(to: UInt8.self)
            var start = 0
            if all.count >= 3, all[0] == 0xEF, all[1] == 0xBB, all[2] == 0xBF { start = 3 }
            var out: [Line] = []
            var number = 0
            while start < all.count {
                number += 1
                var end = start
                while end < all.count, all[end] != 0x0A { end += 1 }
                let next = end + 1
                if end > start, all[end - 1] == 0x0D { end -= 1 }
                let slice = UnsafeBufferPointer(rebasing: all[start..<end])
                if slice.count > lineLimit {
                    throw Error.lineTooLong(path: path, line: number, bytes: slice.count, limit: lineLimit)
                }
                if let bad = firstInvalidUTF8(slice) {
                    throw Error.invalidUTF8(path: path, line: number, offset: start + bad)
                }
                out.append(Line(number: number, text: String(decoding: slice, as: UTF8.self)))
                start = next
            }
            return out
        }
    }
}
