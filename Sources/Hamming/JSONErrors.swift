/// What a JSON decoding error says, without the decoder's internals: which field of `document`
/// (for example "the header") is missing, of the wrong type, null or malformed. Shared by the
/// package's modules that read JSON (encoder archive headers, plot descriptions); not public API.
package func explainJSON(_ error: any Error, document: String) -> String {
    guard let e = error as? DecodingError else { return "not valid JSON" }
    func path(_ c: DecodingError.Context) -> String {
        c.codingPath.isEmpty ? document : "'" + c.codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".") + "'"
    }
    switch e {
    case .keyNotFound(let key, let c): return "\(path(c)) lacks the field '\(key.stringValue)'"
    case .typeMismatch(let type, let c): return "\(path(c)) is not a \(type)"
    case .valueNotFound(let type, let c): return "\(path(c)) is null, expected a \(type)"
    case .dataCorrupted(let c): return c.codingPath.isEmpty ? "not valid JSON" : "\(path(c)) is malformed"
    @unknown default: return "not valid JSON"
    }
}
