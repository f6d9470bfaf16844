/// An error a user can act on: one line that names the file, key or value and what was expected.
/// Commands print `error: <message>` and exit non-zero; crashes are for programmer mistakes only.
public struct CNNSepError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
