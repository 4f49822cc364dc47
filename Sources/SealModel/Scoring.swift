import Foundation
import SealKernels

extension TransformerModel {
    /// The negative log-likelihood (nats) of each token after the first given the ones before it:
    /// nll[t-1] = logsumexp(logits[t-1]) − logits[t-1][ids[t]], for t = 1 ..< ids.count.
    public func tokenNLL(_ ids: [Int32], lora: LoRAAdapter? = nil, workspace: ForwardWorkspace? = nil) throws -> [Double] {
        if ids.count < 2 { try validate([ids]); return [] }
        let logits = try forward([ids], rows: .all, lora: lora, workspace: workspace)
        let V = logits.vocab
        let n = ids.count - 1
        var lse = [Double](repeating: 0, count: n)
        logits.values.withUnsafeBufferPointer { lp in
            lse.withUnsafeMutableBufferPointer { logSumExpRows($0.baseAddress!, lp.baseAddress!, N: n, V: V) }
        }
        return (0..<n).map { t in lse[t] - Double(logits.values[t * V + Int(ids[t + 1])]) }
    }
}
