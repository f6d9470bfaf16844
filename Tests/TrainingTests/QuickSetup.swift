import Foundation
import TestHelpers
import Configuration

/// The tiny training setup with songs of a quarter second and batches of 128 windows (7 an epoch):
/// for the tests of positions, logs and faults, which need training to happen, not to learn.
func quickTrainingSetup(_ name: String = #function) throws -> (folder: URL, config: Config) {
    var (folder, c) = try tinyTrainingSetup(name, seconds: 0.25)
    c.batchSize = 128
    return (folder, c)
}
