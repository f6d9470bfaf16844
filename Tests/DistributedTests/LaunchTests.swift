import CMPI
import Distributed
import Testing

@Suite struct LaunchTests {
    @Test func eachLauncherIsRecognisedByItsOwnVariable() {
        #expect(Launcher.detect(in: ["OMPI_COMM_WORLD_SIZE": "2", "OMPI_COMM_WORLD_RANK": "1"]) == .openMPI)
        #expect(Launcher.detect(in: ["PMIX_RANK": "0"]) == .pmix)
        #expect(Launcher.detect(in: ["PMI_SIZE": "4", "PMI_RANK": "3"]) == .pmi)
    }

    @Test func tuningVariablesInAUsersShellAreNotALaunch() {
        #expect(Launcher.detect(in: [:]) == nil)
        #expect(Launcher.detect(in: ["OMPI_MCA_btl": "self,vader", "OMPI_ALLOW_RUN_AS_ROOT": "1",
                                     "PMIX_MCA_gds": "hash", "SLURM_JOB_ID": "7", "PATH": "/usr/bin"]) == nil)
    }

    /// Every collective of the job of one leaves its data as it was, and MPI stays uninitialised.
    @Test func aPlainProcessIsAJobOfOneThatNeverInitialisesMPI() {
        let cluster = Cluster.join(environment: ["OMPI_MCA_btl": "self"])
        #expect(cluster.rank == 0 && cluster.size == 1 && cluster.isRoot)
        var gradient: [Float] = [1.5, -2, 3]
        cluster.allreduce(&gradient, .sum)
        cluster.broadcast(&gradient)
        #expect(gradient == [1.5, -2, 3])
        #expect(cluster.allreduce(Int64(1) << 60, .max) == Int64(1) << 60)
        #expect(cluster.broadcast(Array("song".utf8)) == Array("song".utf8))
        #expect(cluster.gather(Array("score".utf8)) == [Array("score".utf8)])
        #expect(cluster.anyRequested(true) && !cluster.anyRequested(false))
        #expect(cluster.ranksAgree(on: 42))
        cluster.barrier()
        Cluster.finish()
        var initialised: Int32 = -1, finalized: Int32 = -1
        MPI_Initialized(&initialised)
        MPI_Finalized(&finalized)
        #expect(initialised == 0 && finalized == 0)
    }
}

@Suite struct ChecksumTests {
    /// Reference values from Python, independent of this code:
    ///     h = 0xcbf29ce484222325
    ///     for w in struct.unpack('<3I', struct.pack('<3f', 1.0, -2.5, 0.0)):
    ///         h = ((h ^ w) * 0x100000001b3) & (2**64 - 1)
    @Test func matchesFNV1aOverThe32BitWordsComputedInPython() {
        #expect(checksum([]) == 0xcbf2_9ce4_8422_2325)
        #expect(checksum([1.0, -2.5, 0.0]) == 0x1a5b_33cc_23af_2fb7)
        #expect(checksum([0.0]) == 0xaf63_bd4c_8601_b7df)
        #expect(checksum([-0.0]) == 0xaf63_bc73_0601_b7df)  // the same value, other bits: ranks differ
    }

    @Test func oneChangedValueAnywhereChangesTheChecksum() {
        let weights = (0..<4096).map { Float($0).squareRoot() - 20 }
        let reference = checksum(weights)
        for i in stride(from: 0, to: weights.count, by: 37) {
            var drifted = weights
            drifted[i] = drifted[i].nextUp
            #expect(checksum(drifted) != reference, "value \(i)")
        }
        #expect(checksum(weights) == reference)
    }
}
