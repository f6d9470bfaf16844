/// The one window cutter: the first frames of the windows of `length` frames cut from a song of
/// `frames` frames, moving by `hop` (training windows and separation windows alike).
///
/// Every frame lies in some window, and the tail is never dropped: starts run 0, hop, 2·hop, … up to
/// and including the first window that reaches the song's last frame. That window may run past the
/// end, where it sees zero frames (the reproduced Keras code zero-pads its last segment the same
/// way). A song shorter than one window gives one zero-padded window; a song of no frames gives none.
/// With hop = length a song gives ⌈frames / length⌉ windows.
public func windowStarts(frames: Int, length: Int, hop: Int) -> [Int] {
    precondition(length > 0 && hop > 0, "windowStarts: length and hop must be positive")
    guard frames > 0 else { return [] }
    let extra = max(frames - length, 0)
    let count = (extra + hop - 1) / hop + 1
    return (0..<count).map { $0 * hop }
}
