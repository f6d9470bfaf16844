import Foundation

/// What this process has used so far (benchmarks and `dataset stream` report it).
public enum ResourceUsage {
    /// Peak resident set size, in bytes (getrusage; Linux reports KiB, macOS bytes).
    public static var peakResidentBytes: Int {
        var usage = rusage()
        #if os(Linux)
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Int(usage.ru_maxrss) * 1024
        #else
        getrusage(RUSAGE_SELF, &usage)
        return Int(usage.ru_maxrss)
        #endif
    }

    /// Resident set size now (second field of /proc/self/statm, in pages), in bytes; 0 where unknown.
    public static var residentBytes: Int {
        let text = (try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8)) ?? ""
        let pages = text.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    /// Minor page faults so far (memory touched for the first time).
    public static var minorPageFaults: Int { usage.ru_minflt }

    /// User + system CPU seconds so far, all threads (benchmarks: less sensitive to a loaded machine than wall time).
    public static var cpuSeconds: Double {
        let u = usage
        func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) * 1e-6 }
        return seconds(u.ru_utime) + seconds(u.ru_stime)
    }

    private static var usage: rusage {
        var usage = rusage()
        #if os(Linux)
        getrusage(RUSAGE_SELF.rawValue, &usage)
        #else
        getrusage(RUSAGE_SELF, &usage)
        #endif
        return usage
    }

    /// Cores this process may run on: its CPU affinity (the `Cpus_allowed` mask of /proc/self/status;
    /// Swift's Glibc does not export sched_getaffinity), which `mpirun` narrows to one core per rank
    /// when it binds ranks (its default for up to 2 ranks), `taskset` and Slurm to what they grant.
    /// `activeProcessorCount` counts the machine's cores whatever the affinity.
    public static var availableCores: Int {
        let text = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("Cpus_allowed:") }) else {
            return ProcessInfo.processInfo.activeProcessorCount
        }
        let bits = line.dropFirst("Cpus_allowed:".count).reduce(0) { $0 + (Int(String($1), radix: 16)?.nonzeroBitCount ?? 0) }
        return max(1, min(bits, ProcessInfo.processInfo.activeProcessorCount))
    }

    /// The 1-, 5- and 15-minute load averages (/proc/loadavg), as text ("?" where unknown).
    public static var loadAverage: String {
        ((try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? "?").split(separator: " ").prefix(3).joined(separator: " ")
    }
}
