// Loops over interleaved complex spectra (re, im, re, im, …), eight floats at a time: the builds
// target baseline x86-64, where Swift does not vectorize these strided loops by itself.

typealias Float8 = SIMD8<Float>
@inline(__always) func load4(_ p: UnsafePointer<Float>) -> SIMD4<Float> { UnsafeRawPointer(p).loadUnaligned(as: SIMD4<Float>.self) }
@inline(__always) func load8(_ p: UnsafePointer<Float>) -> Float8 { UnsafeRawPointer(p).loadUnaligned(as: Float8.self) }
@inline(__always) func load8(_ p: UnsafeMutablePointer<Float>) -> Float8 { UnsafeRawPointer(p).loadUnaligned(as: Float8.self) }
@inline(__always) func load16(_ p: UnsafePointer<Float>) -> SIMD16<Float> { UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self) }
@inline(__always) func store8(_ v: Float8, _ p: UnsafeMutablePointer<Float>) { UnsafeMutableRawPointer(p).storeBytes(of: v, as: Float8.self) }

/// z[k] = x[k] · m[k] for `bins` complex values x (interleaved) and real gains m: a masked spectrum.
public func applyMask(_ m: UnsafePointer<Float>, to x: UnsafePointer<Float>, into z: UnsafeMutablePointer<Float>, bins: Int) {
    var k = 0
    while k + 4 <= bins {
        let g = load4(m + k)
        store8(load8(x + 2 * k) * Float8(g[0], g[0], g[1], g[1], g[2], g[2], g[3], g[3]), z + 2 * k)
        k += 4
    }
    while k < bins { z[2 * k] = x[2 * k] * m[k]; z[2 * k + 1] = x[2 * k + 1] * m[k]; k += 1 }
}

/// out[k] = scale · |mean over the channels of x_c[k]| for `bins` complex values per channel: the
/// magnitude of the mono downmix's spectrum (the STFT is linear, so the downmix's spectrum is the
/// mean of the channels'). Summed in channel order, then times 1/C, as a scalar loop would.
public func meanMagnitude(_ channels: [UnsafePointer<Float>], bins: Int, scale: Float, into out: UnsafeMutablePointer<Float>) {
    let inverse = 1 / Float(channels.count)
    var k = 0
    while k + 8 <= bins {
        var sum = SIMD16<Float>()
        for x in channels { sum += load16(x + 2 * k) }
        let (re, im) = (sum.evenHalf * inverse, sum.oddHalf * inverse)
        var magnitude = (re * re + im * im).squareRoot()
        if scale != 1 { magnitude *= scale }
        store8(magnitude, out + k)
        k += 8
    }
    while k < bins {
        var re: Float = 0, im: Float = 0
        for x in channels { re += x[2 * k]; im += x[2 * k + 1] }
        re *= inverse; im *= inverse
        out[k] = (re * re + im * im).squareRoot()
        if scale != 1 { out[k] *= scale }
        k += 1
    }
}
