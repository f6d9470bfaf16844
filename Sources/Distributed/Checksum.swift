/// A 64-bit fingerprint of a Float buffer's exact bits (FNV-1a taken over 32-bit words instead of
/// bytes: four times fewer multiplications). Each step is a bijection of the state, so a buffer that
/// differs from another in one value always has another checksum.
/// Ranks that train data-parallel hold bit-identical weights; `Communicator.ranksAgree(on:)` compares
/// this value across ranks.
/// `continuing` chains buffers: the checksum of b after a is `checksum(b, continuing: checksum(a))`,
/// the checksum of their concatenation.
public func checksum(_ values: UnsafeBufferPointer<Float>, continuing start: UInt64 = 0xcbf2_9ce4_8422_2325) -> UInt64 {
    var hash = start
    for value in values {
        hash = (hash ^ UInt64(value.bitPattern)) &* 0x0000_0100_0000_01b3
    }
    return hash
}

public func checksum(_ values: [Float], continuing start: UInt64 = 0xcbf2_9ce4_8422_2325) -> UInt64 {
    values.withUnsafeBufferPointer { checksum($0, continuing: start) }
}

/// FNV-1a over bytes (the standard 64-bit hash): for comparing what ranks read, such as a config or
/// a list of songs.
public func checksum(bytes: [UInt8], continuing start: UInt64 = 0xcbf2_9ce4_8422_2325) -> UInt64 {
    bytes.reduce(start) { ($0 ^ UInt64($1)) &* 0x0000_0100_0000_01b3 }
}
