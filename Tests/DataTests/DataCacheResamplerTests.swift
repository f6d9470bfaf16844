import Audio
import Foundation
import Testing
import Support
@testable import Data
import TestHelpers

@Suite("Data: feature cache and the resampler")
struct DataCacheResamplerTests {
    @Test("an entry of a resampled song made by another resampler is rebuilt; one at the feature rate is kept")
    func otherResamplerRebuildsResampledSongsOnly() throws {
        let low = try DataFixtures.audioDataset(layout: .dsd100, songs: ["low rate"], seconds: 0.5, sampleRate: 22050)
        let native = try DataFixtures.audioDataset(layout: .dsd100, songs: ["native rate"], seconds: 0.5)
        defer { for root in [low, native] { try? FileManager.default.removeItem(at: root) } }
        let songs = try [low, native].map { try Dataset.open($0).songs(split: "Dev")[0] }
        let folder = low.appendingPathComponent("cache")
        let old = FeatureCache(folder: folder, settings: FeatureSettings(), resampler: "libsamplerate SRC_SINC_BEST_QUALITY")
        try old.prepare(songs, progress: false)
        #expect(old.buildCount == 2)

        let current = FeatureCache(folder: folder, settings: FeatureSettings())
        #expect(current.resampler == Resampler.identity && current.resampler.hasPrefix("libsoxr"))
        #expect(!current.isCurrent(songs[0]) && current.isCurrent(songs[1]))
        try current.prepare(songs, progress: false)
        #expect(current.buildCount == 1)
        #expect(current.isCurrent(songs[0]) && !old.isCurrent(songs[0]))
    }
}
