import CFFTW
import Foundation

/// FFTW's planner is not thread-safe (planning from several threads at once crashes), while executing
/// existing plans on distinct buffers is. Every plan in cnnsep is made while holding this lock.
enum FFTWPlanner {
    static let lock = NSLock()
}

/// Single-precision real FFT plans of one size (forward r2c and inverse c2r), made once per size and
/// shared by every STFT of that size. `FFTW_ESTIMATE` planning is deterministic, so the same input
/// gives bit-identical output in every run (FFTW_MEASURE may choose different algorithms per run).
/// Transforms are unnormalized, as numpy.fft.rfft/irfft·n: forward X[k] = Σ x[n] e^{-2πikn/N}.
final class RealFFT: @unchecked Sendable {
    let size: Int
    let bins: Int
    private let forwardPlan: OpaquePointer
    private let inversePlan: OpaquePointer
    /// Complex inverse of size `size`: two real signals' inverses at once (`STFT.overlapAddPair`).
    private let pairInversePlan: OpaquePointer

    private static var cache: [Int: RealFFT] = [:]

    static func shared(size: Int) -> RealFFT {
        FFTWPlanner.lock.lock(); defer { FFTWPlanner.lock.unlock() }
        if let plan = cache[size] { return plan }
        let plan = RealFFT(size: size)
        cache[size] = plan
        return plan
    }

    /// Call with `FFTWPlanner.lock` held.
    private init(size: Int) {
        self.size = size
        bins = size / 2 + 1
        let real = fftwf_alloc_real(size)!
        let complex = fftwf_alloc_complex(size / 2 + 1)!
        let pairIn = fftwf_alloc_complex(size)!, pairOut = fftwf_alloc_complex(size)!
        defer { fftwf_free(real); fftwf_free(complex); fftwf_free(pairIn); fftwf_free(pairOut) }
        forwardPlan = fftwf_plan_dft_r2c_1d(Int32(size), real, complex, UInt32(FFTW_ESTIMATE))!
        inversePlan = fftwf_plan_dft_c2r_1d(Int32(size), complex, real, UInt32(FFTW_ESTIMATE))!
        pairInversePlan = fftwf_plan_dft_1d(Int32(size), pairIn, pairOut, FFTW_BACKWARD, UInt32(FFTW_ESTIMATE))!
    }

    /// Scratch buffers aligned as FFTW's plans expect (fftwf_malloc alignment).
    final class Buffers {
        let real: UnsafeMutablePointer<Float>
        let complexPointer: UnsafeMutablePointer<fftwf_complex>
        /// The complex buffer as interleaved floats (re, im, re, im, …).
        let complex: UnsafeMutablePointer<Float>
        /// Size complex values each, interleaved: the pair inverse's input and output.
        let pairIn: UnsafeMutablePointer<fftwf_complex>, pairOut: UnsafeMutablePointer<fftwf_complex>
        /// The second half-spectrum a pair inverse is filled with (bins interleaved pairs).
        let second: UnsafeMutablePointer<Float>
        init(size: Int) {
            real = fftwf_alloc_real(size)!
            complexPointer = fftwf_alloc_complex(size / 2 + 1)!
            complex = UnsafeMutableRawPointer(complexPointer).assumingMemoryBound(to: Float.self)
            pairIn = fftwf_alloc_complex(size)!
            pairOut = fftwf_alloc_complex(size)!
            second = fftwf_alloc_real(size + 2)!
        }
        deinit { fftwf_free(real); fftwf_free(complexPointer); fftwf_free(pairIn); fftwf_free(pairOut); fftwf_free(second) }
    }

    func makeBuffers() -> Buffers { Buffers(size: size) }

    /// buffers.real (size) → buffers.complex (bins).
    func forward(_ buffers: Buffers) {
        fftwf_execute_dft_r2c(forwardPlan, buffers.real, buffers.complexPointer)
    }

    /// buffers.complex (bins; imaginary parts of DC and Nyquist ignored, buffer destroyed) → buffers.real (size), times `size`.
    func inverse(_ buffers: Buffers) {
        fftwf_execute_dft_c2r(inversePlan, buffers.complexPointer, buffers.real)
    }

    /// buffers.pairIn (size complex values) → buffers.pairOut, the unnormalized complex inverse
    /// (one complex FFT costs less than two real inverses: see `STFT.overlapAddPair`).
    func complexInverse(_ buffers: Buffers) {
        fftwf_execute_dft(pairInversePlan, buffers.pairIn, buffers.pairOut)
    }
}
