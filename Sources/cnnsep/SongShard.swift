import Distributed
import Foundation
import Support

/// The songs of a `predict` or `eval` job that this rank does. Every rank lists the same songs and
/// deals them alike (`ShardPlan`: longest first, to the rank with the least audio so far), so no
/// song is done twice or missed, and no rank waits for a list from another. In a process not
/// launched by mpirun/srun the one rank does every song.
struct SongShard {
    let ranks: any Communicator
    /// This rank's songs: indices into the list, in the list's order.
    let mine: [Int]
    /// Seconds of audio per rank.
    let seconds: [Double]

    /// `seconds`: each song's cost (the audio to separate; 0 for a song that will be skipped).
    /// `fingerprint`: what a rank saw of the songs (paths, lengths, ...); a rank that saw something
    /// else than rank 0 stops the job before any work, with one line from rank 0.
    init(ranks: any Communicator, seconds: [Double], fingerprint: [String]) throws {
        try ranks.requireAgreement(on: checksum(bytes: Array(fingerprint.joined(separator: "\n").utf8))) {
            "\($0) from rank 0 in the songs found, their lengths or whether their outputs exist: every host needs the same songs and folders at the same paths"
        }
        let plan = ShardPlan(costs: seconds, ranks: ranks.size)
        self.ranks = ranks
        mine = plan.items[ranks.rank].sorted()
        self.seconds = plan.totals
    }

    /// "rank 1: " before a rank's own lines in a job of several ranks; nothing in one process.
    var prefix: String { ranks.size > 1 ? "rank \(ranks.rank): " : "" }

    /// Engine threads per process, as training chooses them: 2 where the process may use 2 cores,
    /// 1 where mpirun bound it to one (its default with at most 2 ranks).
    static var threads: Int { min(2, ResourceUsage.availableCores) }
}
