import SealRuntime

/// What became of a sampled self-edit, as recorded in the metrics file's `status` column ("ok", "invalid: …",
/// "diverged: …"). A self-edit that cannot be used or whose inner loop blows up is the policy's output too: it earns
/// reward 0 and the run goes on.
public enum SampleStatus: Sendable, Equatable, CustomStringConvertible {
    /// Its inner loops ran and were scored.
    case ok
    /// It yields no usable training data (does not parse, is empty, is over budget): the model stays the base.
    case invalid(String)
    /// Its inner loop produced a non-finite loss or gradient: the adapted model is broken and not asked.
    case diverged(String)

    public var description: String {
        switch self {
        case .ok: return "ok"
        case .invalid(let why): return "invalid: \(why)"
        case .diverged(let why): return "diverged: \(why)"
        }
    }

    /// The status a `status` column's text records.
    public init(recorded s: String) {
        if s == "ok" { self = .ok }
        else if s.hasPrefix("diverged: ") { self = .diverged(String(s.dropFirst("diverged: ".count))) }
        else if s.hasPrefix("invalid: ") { self = .invalid(String(s.dropFirst("invalid: ".count))) }
        else { self = .invalid(s) }
    }
}

extension SampleRecord {
    /// The record's status, typed.
    public var sampleStatus: SampleStatus { SampleStatus(recorded: status) }
}
