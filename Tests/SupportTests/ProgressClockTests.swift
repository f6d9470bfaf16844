import Testing
import Support

/// The ETA of a run of 10^18 batches whose first took seconds is past any Int of seconds: its
/// clock trapped in the Int conversion.
@Suite struct ProgressClockTests {
    @Test func clocksOfAnyLengthAreText() {
        #expect(Progress.clock(59.6) == "1:00")
        #expect(Progress.clock(3600) == "1:00:00")
        #expect(Progress.clock(1e30) == "2.78e+26 h")
        #expect(Progress.clock(.infinity) == "?")
    }
}
