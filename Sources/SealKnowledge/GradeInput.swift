import Foundation
import SealTokenizer

/// The input of `seal grade`.
public enum GradeInput {
    /// JSON lines of {"question", "gold" (string or list of strings), "prediction"}; lines end in LF or CRLF and are
    /// numbered as physical lines; blank lines are skipped; invalid UTF-8, a line over `lineLimit` bytes and any
    /// other problem is an error naming the line.
    public static func parse(_ data: Data, source: String, lineLimit: Int = TextInput.defaultLineLimit) throws -> [GradeItem] {
        var items: [GradeItem] = []
        for line in try TextInput.lines(data, path: source, lineLimit: lineLimit) where !line.isBlank {
            let at = "\(source):\(line.number)"
            guard let o = (try? JSONSerialization.jsonObject(with: Data(line.text.utf8))) as? [String: Any] else { throw KnowledgeDataError("\(at): not a JSON object") }
            guard let q = o["question"] as? String else { throw KnowledgeDataError("\(at): needs string 'question'") }
            guard let p = o["prediction"] as? String else { throw KnowledgeDataError("\(at): needs string 'prediction'") }
            var golds: [String]
            if let g = o["gold"] as? String { golds = [g] } else if let g = o["gold"] as? [Any], !g.isEmpty, g.allSatisfy({ $0 is String }) {
                golds = g.compactMap { $0 as? String }
            } else {
                throw KnowledgeDataError("\(at): 'gold' must be a string or a non-empty list of strings")
            }
            golds = golds.filter { !$0.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty }
            if golds.isEmpty { throw KnowledgeDataError("\(at): empty gold answer") }
            items.append(GradeItem(question: q, golds: golds, prediction: p))
        }
        return items
    }
}
