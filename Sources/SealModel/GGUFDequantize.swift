import Foundation

// Dequantization of ggml's tensor types to float32, block layouts as ggml-common.h defines them (the numpy
// reference is gguf-py's gguf/quants.py). Every kernel takes `out[count]`, `src` (count/blockSize blocks, any
// alignment: a GGUF data section is only as aligned as the file says) and `count`, a multiple of the block size
// (GGUFFile checks it on open). Scales are IEEE half (f16) and little-endian. The arithmetic is float32 and in the
// reference's order — products and sums rounded one at a time, no fused multiply-add — so results equal
// `gguf.quants.dequantize` bit for bit.

@inline(__always) private func f16(_ p: UnsafeRawPointer, _ offset: Int) -> Float {
    Float(Float16(bitPattern: UInt16(littleEndian: p.loadUnaligned(fromByteOffset: offset, as: UInt16.self))))
}

@inline(__always) private func byte(_ p: UnsafeRawPointer, _ offset: Int) -> UInt8 { p.load(fromByteOffset: offset, as: UInt8.self) }

/// Dispatches on the type; false for a type seal has no kernel for.
func ggufDequantize(_ type: GGMLType, out: UnsafeMutablePointer<Float>, in src: UnsafeRawPointer, count: Int) -> Bool {
    switch type {
    case .f32: dequantizeF32(out: out, in: src, count: count)
    case .f16: dequantizeF16(out: out, in: src, count: count)
    case .bf16: dequantizeBF16(out: out, in: src, count: count)
    case .q8_0: dequantizeQ8_0(out: out, in: src, count: count)
    case .q4_0: dequantizeQ4_0(out: out, in: src, count: count)
    case .q4_1: dequantizeQ4_1(out: out, in: src, count: count)
    case .q5_0: dequantizeQ5_0(out: out, in: src, count: count)
    case .q5_1: dequantizeQ5_1(out: out, in: src, count: count)
    case .q2_K: dequantizeQ2_K(out: out, in: src, count: count)
    case .q3_K: dequantizeQ3_K(out: out, in: src, count: count)
    case .q4_K: dequantizeQ4_K(out: out, in: src, count: count)
    case .q5_K: dequantizeQ5_K(out: out, in: src, count: count)
    case .q6_K: dequantizeQ6_K(out: out, in: src, count: count)
    default: return false
    }
    return true
}

/// F32: `count` little-endian floats.
public func dequantizeF32(out: UnsafeMutablePointer<Float>, in src: UnsafeRawPointer, count: Int) {
    UnsafeMutableRawPointer(out).copyMemory(from: src, byteCount: count * 4)
}

/// F16: `count` IEEE halves.
public func dequantizeF16(out: UnsafeMutablePointer<Float>, in src: UnsafeRawPointer, count: Int) {
    for i in 0..<count { out[i] = f16(src, 2 * i) }
}

/// BF16: `count` bfloat16, the upper half of a float32.
public func dequantizeBF16(out: UnsafeMutablePointer<Float>, in src: UnsafeRawPointer, count: Int) {
    for i in 0..<count {
        out[i] = Float(bitPattern: UInt32(UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) << 16)
    }
}

/// Q8_0, blocks of 32 in 34 bytes: f16 d · i8 qs[32].  x[j] = qs[j] · d
public func dequantizeQ8_0(out: UnsafeMutablePointer<Float>, in src: UnsafeRawPointer, count: Int) {
    for b in 0..<(count / 32) {
        let p = src + b * 34, o = out + b * 32
        let d = f16(p, 0)
        for j in 0..<32 { o[j] = Float(Int8(bitPattern: byte(p, 2 + j))) * d }
    }
}

/// Q4_0, blocks of 32 in 18 bytes: f16 d · u8 qs[16] (element j in the low nibble of qs[j], element j+16 in the
/// high nibble).  x = (q − 8) · d
public func dequantizeQ4_0(out: UnsafeMutablePointer<Float>, in src: UnsafeRawPointer, count: Int) {
    for b in 0..<(count / 32) {
        let p = src + b * 18, o = out + b * 32
        let d = f16(p, 0)
        for j in 0..<16 {
            let q = byte(p, 2 + j)
            o[j] = d * Float(Int(q & 0x0F) - 8)
            o[j + 16] = d * Float(Int(q >> 4) - 8)
        }
    }
}

/// Q4_1, blocks of 32 in 20 bytes: f16 d · f16 m · u8 qs[16] (nibbles as Q4_0).  x = q · d + m
public func dequantizeQ4_1(out: UnsafeMutablePointer<Float>, in src: UnsafeRawPointer, count: Int) {
    for b in 0..<(count / 32) {
        let p = src + b * 20, o = out + b * 32
        let d = f16(p, 0), m = f16(p, 2)
        for j in 0..<16 {
            let q = byte(p, 4 + j)
            o[j] = d * Float(q & 0x0F) + m
            o[j + 16] = d * Float(q >> 4) + m
        }
    }
}

/// Q5_0, blocks of 32 in 22 bytes: f16 d · u32 qh (bit j = the 5th bit of element j) · u8 qs[16] (low 4 bits, nibbles
/// as Q4_0).  x = (q − 16) · d
public func dequantizeQ5_0(out: UnsafeMutablePointer<Float>, in src: UnsafeRawPointer, count: Int) {
    for b in 0..<(count / 32) {
        let p = src + b * 22, o = out + b * 32
        let d = f16(p, 0)
        let qh = UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 2, as: UInt32.self))
        for j in 0..<16 {
            let q = byte(p, 6 + j)
            let lo = Int(q & 0x0F) | Int((qh >> UInt32(j)) & 1) << 4
            let hi = Int(q >> 4) | Int((qh >> UInt32(j + 16)) & 1) << 4
            o[j] = d * Float(lo - 16)
            o[j + 16] = d * Float(hi - 16)
        }
    }
}

/// Q5_1, blocks of 32 in 24 bytes: f16 d · f16 m · u32 qh · u8 qs[16] (bits as Q5_0).  x = q · d + m
public func dequantizeQ5_1(out: UnsafeMutablePointer<Float>, in src: UnsafeRawPointer, count: Int) {
    for b in 0..<(count / 32) {
        let p = src + b * 24, o = out + b * 32
        let d = f16(p, 0), m = f16(p, 2)
        let qh = UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
        for j in 0..<16 {
            let q = byte(p, 8 + j)
            let lo = UInt32(q & 0x0F) | ((qh >> UInt32(j)) & 1) << 4
            let hi = UInt32(q >> 4) | ((qh >> UInt32(j + 16)) & 1) << 4
            o[j] = d * Float(lo) + m
            o[j + 16] = d * Float(hi) + m
        }
    }
}

/// Q2_K, super-blocks of 256 in 84 bytes: u8 scales[16] (low nibble: scale, high nibble: min, one pair per 16
/// elements) · u8 qs[64] · f16 d · f16 dmin. Element i = 128·h + 32·s + l (h < 2, s < 4, l < 32) is the 2 bits
/// (qs[32·h + l] >> 2s) & 3.  x = (d · scale[i/16]) · q − dmin · min[i/16]
public func dequantizeQ2_K(out: UnsafeMutablePointer<Float>, in src: UnsafeRawPointer, count: Int) {
    for b in 0..<(count / 256) {
        let p = src + b * 84, o = out + b * 256
        let d = f16(p, 80), dmin = f16(p, 82)
        for h in 0..<2 {
            for s in 0..<4 {
                for l in 0..<32 {
                    let i = 128 * h + 32 * s + l
                    let sc = byte(p, i / 16)
                    let q = (byte(p, 16 + 32 * h + l) >> UInt8(2 * s)) & 3
                    o[i] = (d * Float(sc & 0x0F)) * Float(q) - dmin * Float(sc >> 4)
                }
            }
        }
    }
}

/// Q3_K, super-blocks of 256 in 110 bytes: u8 hmask[32] · u8 qs[64] · u8 scales[12] · f16 d. The 16 scales are 6-bit:
/// scale k's low 4 bits are nibble k/8 of scales[k % 8], its high 2 bits bits 2·(k/4) of scales[8 + k % 4]; it is
/// stored +32. Element i = 128·h + 32·s + l has low 2 bits (qs[32·h + l] >> 2s) & 3 and its 3rd bit, inverted, in
/// bit i/32 of hmask[l].  x = (d · (scale[i/16] − 32)) · (low − 4·(1 − bit))
public func dequantizeQ3_K(out: UnsafeMutablePointer<Float>, in src: UnsafeRawPointer, count: Int) {
    var dl = [Float](repeating: 0, count: 16)
    for b in 0..<(count / 256) {
        let p = src + b * 110, o = out + b * 256
        let d = f16(p, 108)
        for k in 0..<16 {
            let lo = (byte(p, 96 + k % 8) >> UInt8(4 * (k / 8))) & 0x0F
            let hi = (byte(p, 96 + 8 + k % 4) >> UInt8(2 * (k / 4))) & 0x03
            dl[k] = d * Float(Int(lo | hi << 4) - 32)
        }
        for h in 0..<2 {
            for s in 0..<4 {
                for l in 0..<32 {
                    let i = 128 * h + 32 * s + l
                    let low = Int((byte(p, 32 + 32 * h + l) >> UInt8(2 * s)) & 3)
                    let bit = Int((byte(p, l) >> UInt8(i / 32)) & 1)
                    o[i] = dl[i / 16] * Float(low - ((bit ^ 1) << 2))
                }
            }
        }
    }
}

/// The 8 (scale, min) pairs of a Q4_K/Q5_K super-block, 6 bits each in 12 bytes: for j < 4, scale j = bytes[j] & 63
/// and min j = bytes[j+4] & 63; for j ≥ 4, scale j = (bytes[j+4] & 15) | (bytes[j−4] >> 6) << 4 and
/// min j = (bytes[j+4] >> 4) | (bytes[j] >> 6) << 4.
@inline(__always) private func kScaleMin(_ p: UnsafeRawPointer, _ j: Int) -> (UInt8, UInt8) {
    if j < 4 { return (byte(p, j) & 63, byte(p, j + 4) & 63) }
    return ((byte(p, j + 4) & 0x0F) | ((byte(p, j - 4) >> 6) << 4), (byte(p, j + 4) >> 4) | ((byte(p, j) >> 6) << 4))
}

/// Q4_K, super-blocks of 256 in 144 bytes: f16 d · f16 dmin · u8 scales[12] (8 six-bit scale/min pairs, one per 32
/// elements) · u8 qs[128]. Element i = 64·c + 32·n + l (c < 4, n < 2, l < 32) is nibble n of qs[32·c + l].
/// x = (d · scale[i/32]) · q − dmin · min[i/32]
public func dequantizeQ4_K(out: UnsafeMutablePointer<Float>, in src: UnsafeRawPointer, count: Int) {
    for b in 0..<(count / 256) {
        let p = src + b * 144, o = out + b * 256
        let d = f16(p, 0), dmin = f16(p, 2)
        for sub in 0..<8 {
            let (sc, mn) = kScaleMin(p + 4, sub)
            let ds = d * Float(sc), dm = dmin * Float(mn)
            let c = sub / 2, shift = UInt8(4 * (sub % 2))
            for l in 0..<32 {
                let q = (byte(p, 16 + 32 * c + l) >> shift) & 0x0F
                o[32 * sub + l] = ds * Float(q) - dm
            }
        }
    }
}

/// Q5_K, super-blocks of 256 in 176 bytes: f16 d · f16 dmin · u8 scales[12] (as Q4_K) · u8 qh[32] · u8 qs[128]. The
/// low 4 bits of element i as in Q4_K, its 5th bit is bit i/32 of qh[i % 32].  x = (d · scale[i/32]) · q − dmin · min[i/32]
public func dequantizeQ5_K(out: UnsafeMutablePointer<Float>, in src: UnsafeRawPointer, count: Int) {
    for b in 0..<(count / 256) {
        let p = src + b * 176, o = out + b * 256
        let d = f16(p, 0), dmin = f16(p, 2)
        for sub in 0..<8 {
            let (sc, mn) = kScaleMin(p + 4, sub)
            let ds = d * Float(sc), dm = dmin * Float(mn)
            let c = sub / 2, shift = UInt8(4 * (sub % 2))
            for l in 0..<32 {
                let lo = (byte(p, 48 + 32 * c + l) >> shift) & 0x0F
                let hi = (byte(p, 16 + l) >> UInt8(sub)) & 1
                o[32 * sub + l] = ds * Float(lo | hi << 4) - dm
            }
        }
    }
}

/// Q6_K, super-blocks of 256 in 210 bytes: u8 ql[128] · u8 qh[64] · i8 scales[16] (one per 16 elements) · f16 d.
/// Element i = 128·a + r (a < 2, r < 128) has low 4 bits nibble r/64 of ql[64·a + r % 64] and high 2 bits
/// (qh[32·a + r % 32] >> 2·(r/32)) & 3.  x = (d · scale[i/16]) · (q − 32)
public func dequantizeQ6_K(out: UnsafeMutablePointer<Float>, in src: UnsafeRawPointer, count: Int) {
    for b in 0..<(count / 256) {
        let p = src + b * 210, o = out + b * 256
        let d = f16(p, 208)
        for a in 0..<2 {
            for r in 0..<128 {
                let i = 128 * a + r
                let lo = (byte(p, 64 * a + r % 64) >> UInt8(4 * (r / 64))) & 0x0F
                let hi = (byte(p, 128 + 32 * a + r % 32) >> UInt8(2 * (r / 32))) & 0x03
                let scale = Float(Int8(bitPattern: byte(p, 192 + i / 16)))
                o[i] = (d * scale) * Float(Int(lo | hi << 4) - 32)
            }
        }
    }
}
