import Foundation

/// This machine's memory, against which sizes from files, configs and options are checked before
/// anything that large is allocated: an allocation the machine cannot hold ends the process (Swift
/// traps when malloc fails, and the kernel's OOM killer takes it otherwise, minutes later).
public enum MachineMemory {
    /// Physical memory in bytes.
    public static var bytes: Double { Double(ProcessInfo.processInfo.physicalMemory) }

    /// "20.5 GB": bytes in gigabytes, as the errors say them.
    public static func gigabytes(_ bytes: Double) -> String { String(format: "%.3g GB", bytes / 1e9) }

    /// One line, `what`, then how much it needs and how much there is, when `needed` bytes exceed
    /// the machine's memory (nil when they fit); `advice` ends the line.
    public static func refusal(_ needed: Double, for what: String, advice: String) -> CNNSepError? {
        guard needed > bytes else { return nil }
        return CNNSepError("\(what): \(gigabytes(needed)) needed, more than this machine's \(gigabytes(bytes)) of memory; \(advice)")
    }

    /// Throws `refusal` when there is one.
    public static func require(_ needed: Double, for what: String, advice: String) throws {
        if let error = refusal(needed, for: what, advice: advice) { throw error }
    }
}
