// Channels interleaved for libsndfile in one vectorised pass that also scales, clips, counts the
// clipped samples and notices NaN/Inf, sixteen samples at a time (eight frames of both channels for
// stereo). The builds target baseline x86-64 (SSE2): no vector rounding instruction and Swift's
// float-to-integer vector conversions are per-lane calls, so rounding is done with the 1.5·2²³ trick.

typealias Lanes = SIMD16<Float>

/// What converting a stretch of samples found.
struct ConversionTally: Equatable {
    var clipped = 0
    var finite = true
}

/// One conversion of sixteen float samples into what libsndfile is given; accumulates its tally.
protocol SampleConversion {
    associatedtype Sample: SIMDScalar
    mutating func convert(_ x: Lanes) -> SIMD16<Sample>
    var tally: ConversionTally { get }
}

/// Float samples × `scale` to the 16-bit integers libsndfile 1.2's PCM writer (WAV, AIFF) makes of
/// floats with clipping on (`SFC_SET_CLIPPING`), bit for bit: it scales by 2³¹, rounds to the nearest
/// Int32 (ties to even, `lrintf`) and keeps the upper 16 bits (an arithmetic shift, i.e. floor),
/// saturating at ≥ 2³¹ and ≤ −2³¹. With y = x·32768 that is floor(y) wherever y·65536 is a whole
/// number (|y| ≥ 128), and floor(y + 2⁻¹⁷) below, where the rounding at 2⁻¹⁶ of a step can carry
/// into the next step. Clipped = |x·scale| > 1, as counted before (±1 itself is full scale).
struct PCM16Conversion: SampleConversion {
    let scale: Float
    private var clips = SIMD16<Int32>()
    private var nonFinite = Lanes()

    init(scale: Float) { self.scale = scale }

    @inline(__always) mutating func convert(_ x: Lanes) -> SIMD16<Int16> {
        nonFinite += x - x  // NaN from any NaN or ±Inf, 0 otherwise
        let y = (x * scale) * 32768
        let magnitude = unsafeBitCast(unsafeBitCast(y, to: SIMD16<UInt32>.self) & 0x7FFF_FFFF, to: Lanes.self)
        clips &+= SIMD16<Int32>(repeating: 0).replacing(with: 1, where: magnitude .> 32768)
        var w = y.replacing(with: y + 0x1p-17, where: magnitude .< 128)
        w = w.replacing(with: 32767, where: w .> 32767).replacing(with: -32768, where: w .< -32768)
        // Adding 1.5·2²³ rounds |w| ≤ 2¹⁵ to a whole number, which then sits in the low mantissa bits.
        let shifted = w + 12_582_912
        let nearest = shifted - 12_582_912
        var whole = unsafeBitCast(shifted, to: SIMD16<Int32>.self) &- 0x4B40_0000
        whole = whole.replacing(with: whole &- 1, where: nearest .> w)  // nearest → floor
        return SIMD16<Int16>(truncatingIfNeeded: whole)
    }

    var tally: ConversionTally {
        ConversionTally(clipped: Int(clips.wrappedSum()), finite: nonFinite.sum() == 0)
    }
}

/// Float samples × `scale`, clamped to ±1 when the file's encoding clips (everything but float
/// files), for libsndfile to convert.
struct FloatConversion: SampleConversion {
    let scale: Float
    let clips: Bool
    private var clipCount = SIMD16<Int32>()
    private var nonFinite = Lanes()

    init(scale: Float, clips: Bool) { self.scale = scale; self.clips = clips }

    @inline(__always) mutating func convert(_ x: Lanes) -> SIMD16<Float> {
        nonFinite += x - x
        let y = x * scale
        guard clips else { return y }
        let magnitude = unsafeBitCast(unsafeBitCast(y, to: SIMD16<UInt32>.self) & 0x7FFF_FFFF, to: Lanes.self)
        clipCount &+= SIMD16<Int32>(repeating: 0).replacing(with: 1, where: magnitude .> 1)
        return y.replacing(with: 1, where: y .> 1).replacing(with: -1, where: y .< -1)
    }

    var tally: ConversionTally {
        ConversionTally(clipped: Int(clipCount.wrappedSum()), finite: nonFinite.sum() == 0)
    }
}

/// Writes frames `range` of `channels` interleaved into `out` (frame-major: `out[i·C + c]`),
/// converted by `conversion`, whose tally then covers them.
func interleave<C: SampleConversion>(_ channels: [UnsafePointer<Float>], frames range: Range<Int>,
                                     into out: UnsafeMutablePointer<C.Sample>, with conversion: inout C) {
    let count = range.count, channelCount = channels.count
    /// Lanes `0..<n` from `p`, zeros beyond (zeros convert to zeros, finite and unclipped).
    func partial(_ p: UnsafePointer<Float>, _ n: Int) -> Lanes {
        var x = Lanes()
        for j in 0..<n { x[j] = p[j] }
        return x
    }
    if channelCount == 2 {
        let (left, right) = (channels[0] + range.lowerBound, channels[1] + range.lowerBound)
        var i = 0
        while i < count {
            let n = min(8, count - i)
            let x = n == 8
                ? Lanes(lowHalf: UnsafeRawPointer(left + i).loadUnaligned(as: SIMD8<Float>.self),
                        highHalf: UnsafeRawPointer(right + i).loadUnaligned(as: SIMD8<Float>.self))
                : Lanes(lowHalf: partial(left + i, n).lowHalf, highHalf: partial(right + i, n).lowHalf)
            let s = conversion.convert(x)
            let pairs = SIMD16<C.Sample>(s[0], s[8], s[1], s[9], s[2], s[10], s[3], s[11],
                                         s[4], s[12], s[5], s[13], s[6], s[14], s[7], s[15])
            if n == 8 {
                UnsafeMutableRawPointer(out + 2 * i).storeBytes(of: pairs, as: SIMD16<C.Sample>.self)
            } else {
                for j in 0..<2 * n { out[2 * i + j] = pairs[j] }
            }
            i += 8
        }
        return
    }
    for (c, channel) in channels.enumerated() {
        let p = channel + range.lowerBound
        var i = 0
        while i < count {
            let n = min(16, count - i)
            let s = conversion.convert(n == 16 ? UnsafeRawPointer(p + i).loadUnaligned(as: Lanes.self) : partial(p + i, n))
            if n == 16 && channelCount == 1 {
                UnsafeMutableRawPointer(out + i).storeBytes(of: s, as: SIMD16<C.Sample>.self)
            } else {
                for j in 0..<n { out[(i + j) * channelCount + c] = s[j] }
            }
            i += 16
        }
    }
}
