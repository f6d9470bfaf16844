import Dispatch
import Foundation

/// A thread that runs `body(1)` while the caller runs `body(0)`. Work is handed over through two
/// semaphores and a closure stored only while the caller waits (`withoutActuallyEscaping`), so no
/// allocation happens per call (DispatchQueue.concurrentPerform allocated ~3 blocks per call).
final class HelperThread {
    private final class Shared: @unchecked Sendable {
        let start = DispatchSemaphore(value: 0), done = DispatchSemaphore(value: 0)
        var job: ((Int) -> Void)?
        var stop = false
    }
    private let shared = Shared()

    init() {
        let shared = self.shared
        let thread = Thread {
            while true {
                shared.start.wait()
                if shared.stop { return }
                shared.job!(1)
                shared.done.signal()
            }
        }
        thread.stackSize = 1 << 20
        thread.start()
    }

    deinit {
        shared.stop = true
        shared.start.signal()
    }

    func run(_ body: (Int) -> Void) {
        withoutActuallyEscaping(body) { escaping in
            shared.job = escaping
            shared.start.signal()
            escaping(0)
            shared.done.wait()
            shared.job = nil
        }
    }
}
