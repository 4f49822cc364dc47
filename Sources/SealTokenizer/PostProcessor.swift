/// The `post_processor` of a tokenizer.json: adds the special tokens that frame an encoded
/// sequence (Llama-3's `<|begin_of_text|>`, TinyStories' `<|start_story|>`), only when the
/// caller asks for special tokens.
indirect enum PostProcessor {
    enum Piece {
        case special([Int])
        case sequence
    }

    /// Only touches offsets in HF; the ids pass through unchanged.
    case byteLevel
    /// The `single` template (a single sequence is all `encode` produces).
    case template([Piece])
    /// BertProcessing / RobertaProcessing: `cls` + sequence + `sep`.
    case clsSep(cls: Int, sep: Int)
    case sequence([PostProcessor])

    static let supported = "TemplateProcessing, ByteLevel, BertProcessing, RobertaProcessing, Sequence"

    static func parse(_ node: JSONNode) throws -> PostProcessor {
        let type = try node.type()
        switch type {
        case "ByteLevel":
            return .byteLevel
        case "TemplateProcessing":
            var specials: [String: [Int]] = [:]
            if let st = try node.optional("special_tokens") {
                for (name, entry) in try st.members() {
                    specials[name] = try entry.required("ids").array().map { try $0.uint32() }
                }
            }
            let single = try node.required("single")
            var pieces: [Piece] = []
            for p in try single.array() {
                if let s = try p.optional("SpecialToken") {
                    let idNode = try s.required("id")
                    let name = try idNode.string()
                    // Special-token names are compared as written (HF keys a HashMap by them).
                    guard let ids = specials.first(where: { $0.key.utf8.elementsEqual(name.utf8) })?.value else {
                        throw idNode.error(.invalidValue, "special token '\(name)' is not defined in special_tokens")
                    }
                    pieces.append(.special(ids))
                } else if let s = try p.optional("Sequence") {
                    let idNode = try s.required("id")
                    guard try idNode.string() == "A" else {
                        throw idNode.error(.invalidValue, "the single-sequence template may only use sequence A")
                    }
                    pieces.append(.sequence)
                } else {
                    throw p.error(.unsupported, "expected a SpecialToken or Sequence template piece")
                }
            }
            return .template(pieces)
        case "BertProcessing", "RobertaProcessing":
            func idOf(_ key: String) throws -> Int {
                let n = try node.required(key)
                let pair = try n.array()
                guard pair.count == 2 else { throw n.error(.invalidValue, "expected [token, id]") }
                return try pair[1].uint32()
            }
            return .clsSep(cls: try idOf("cls"), sep: try idOf("sep"))
        case "Sequence":
            return .sequence(try node.required("processors").array().map(PostProcessor.parse))
        default:
            throw node.error(.unsupported, "unsupported post-processor type '\(type)' (supported: \(supported))")
        }
    }

    func process(_ ids: [Int], addSpecialTokens: Bool) -> [Int] {
        guard addSpecialTokens else { return ids }
        switch self {
        case .byteLevel:
            return ids
        case .template(let pieces):
            var out: [Int] = []
            out.reserveCapacity(ids.count + 4)
            for p in pieces {
                switch p {
                case .special(let s): out += s
                case .sequence: out += ids
                }
            }
            return out
        case .clsSep(let cls, let sep):
            return [cls] + ids + [sep]
        case .sequence(let ps):
            var out = ids
            for p in ps { out = p.process(out, addSpecialTokens: true) }
            return out
        }
    }

    /// The id this post-processor puts first, before the sequence, if any.
    var prefixID: Int? {
        switch self {
        case .byteLevel:
            return nil
        case .template(let pieces):
            for p in pieces {
                switch p {
                case .special(let s): if let first = s.first { return first }
                case .sequence: return nil
                }
            }
            return nil
        case .clsSep(let cls, _):
            return cls
        case .sequence(let ps):
            // Each processor wraps the output of the previous one, so the last prefix ends up first.
            return ps.reversed().lazy.compactMap { $0.prefixID }.first
        }
    }
}
