import CSealKernels
import Foundation
import SealCore
import SealKernels
import SealModel

/// AdamW with torch.optim.AdamW's semantics (decoupled weight decay applied before the moment update, bias
/// corrections on both moments), over one contiguous parameter buffer and its gradient buffer.
public final class AdamW: @unchecked Sendable {
    public var beta1: Double
    public var beta2: Double
    public var eps: Double
    public var weightDecay: Double
    public private(set) var stepCount = 0
    /// Parameters it updates.
    public var count: Int { m.count }
    let m: FloatBuffer
    let v: FloatBuffer

    public init(count: Int, beta1: Double = 0.9, beta2: Double = 0.999, eps: Double = 1e-8, weightDecay: Double = 0) {
        self.beta1 = beta1; self.beta2 = beta2; self.eps = eps; self.weightDecay = weightDecay
        m = FloatBuffer(count: count)
        v = FloatBuffer(count: count)
    }

    /// Zeroes the moments and the step count (a new inner loop starts from a fresh optimizer).
    public func reset() {
        stepCount = 0
        m.pointer.update(repeating: 0, count: m.count)
        v.pointer.update(repeating: 0, count: v.count)
    }

    public func step(params: FloatBuffer, grads: FloatBuffer, lr: Double) {
        stepCount += 1
        let bc1 = 1 - pow(beta1, Double(stepCount))
        let bc2 = 1 - pow(beta2, Double(stepCount))
        let p = params.pointer, g = grads.pointer, mp = m.pointer, vp = v.pointer
        let (b1, b2, e, wd) = (Float(beta1), Float(beta2), Float(eps), Float(weightDecay))
        Parallel.chunks(params.count, costPerItem: 8) { s, end in
            seal_adamw(p + s, g + s, mp + s, vp + s, end - s, Float(lr), b1, b2, e, wd, Float(bc1), Float(bc2.squareRoot()))
        }
    }
}

/// The L2 norm of a gradient buffer (accumulated in double, in a fixed order).
public func gradientNorm(_ g: FloatBuffer) -> Double {
    seal_sum_squares(g.pointer, g.count).squareRoot()
}

/// torch.nn.utils.clip_grad_norm_: scales the gradients by max/(norm + 1e-6) when that is below 1. Returns the norm
/// before clipping.
@discardableResult
public func clipGradients(_ g: FloatBuffer, maxNorm: Double) -> Double {
    let norm = gradientNorm(g)
    let coef = maxNorm / (norm + 1e-6)
    if coef < 1 { seal_scale(g.pointer, g.count, Float(coef)) }
    return norm
}

/// Learning-rate schedules as transformers defines them: the multiplier for optimizer step `step` (0-based; the
/// first update uses step 0, as `scheduler.step()` runs after each `optimizer.step()`).
public enum LRSchedule: String, Sendable, CaseIterable {
    case constant, linear, cosine

    public func multiplier(step: Int, totalSteps: Int, warmupSteps: Int) -> Double {
        if step < warmupSteps { return Double(step) / Double(max(1, warmupSteps)) }
        switch self {
        case .constant: return 1
        case .linear:
            return max(0, Double(totalSteps - step) / Double(max(1, totalSteps - warmupSteps)))
        case .cosine:
            let progress = Double(step - warmupSteps) / Double(max(1, totalSteps - warmupSteps))
            return max(0, 0.5 * (1 + cos(Double.pi * progress)))
        }
    }
}
