import CBLAS

/// Sets OpenBLAS's thread count. One thread is the default cnnsep uses: this network's GEMMs are
/// small, two threads were never faster (BENCHMARKS.md), and OpenBLAS threads that spin while
/// waiting slow everything down when the machine has other work.
public func setBLASThreads(_ count: Int) {
    openblas_set_num_threads(Int32(max(1, count)))
}
