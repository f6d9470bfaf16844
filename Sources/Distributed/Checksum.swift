/// A 64-bit fingerprint of a Float buffer's exact bits (FNV-1a taken over 32-bit words instead of
/// bytes: four times fewer multiplications). Each step is a bijection of the state, so a buffer that
/// differs from another in one value always has another checksum.
/// Ranks that train data-parallel hold bit-identical weights; `Communicator.ranksAgree(on:)` compares
/// this value across ranks.
public func checksum(_ values: UnsafeBufferPointer<Float>) -> UInt64 {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for value in values {
        hash = (hash ^ UInt64(value.bitPattern)) &* 0x0000_0100_0000_01b3
    }
    return hash
}

public func checksum(_ values: [Float]) -> UInt64 {
    values.withUnsafeBufferPointer { checksum($0) }
}
