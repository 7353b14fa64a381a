import ArgumentParser
import HashData
import HashEncoders
import HashIdxVectors
import HashIdx

/// Exit statuses, after BSD's sysexits.h: 0 success, 64 usage, 65 bad data (malformed input, a
/// damaged index), 66 missing input (no such file or index), 70 internal error, 73 cannot create
/// an output, 74 I/O error (including a full disk), 75 temporary failure (retry later), 77
/// permission denied. Every failure prints one line on standard error saying what was expected
/// and what was found.
enum ExitStatus: Int32 {
    case usage = 64
    case dataError = 65
    case noInput = 66
    case software = 70
    case cannotCreate = 73
    case ioError = 74
    case temporaryFailure = 75
    case noPermission = 77

    /// The status for an error a command threw, or nil for ArgumentParser's own errors (usage
    /// errors, help and version requests), which it reports itself.
    static func of(_ error: any Error) -> ExitStatus? {
        switch error {
        case let e as DataError:
            switch e.kind {
            case .badData: return .dataError
            case .noInput: return .noInput
            case .cannotCreate: return .cannotCreate
            case .io: return .ioError
            }
        case let e as HashIdxError:
            switch e.status {
            case .ok, .internal, .closed: return .software
            case .invalidArgument, .badCode, .codeWidth, .invalidRadius, .invalidK: return .dataError
            case .notAnIndex: return .noInput
            case .alreadyExists: return .cannotCreate
            case .newerFormat, .olderFormat, .corrupt, .encoder, .file: return .dataError
            case .readOnly, .permissionDenied: return .noPermission
            case .busy, .alreadyOpen: return .temporaryFailure
            case .full, .storage: return .ioError
            }
        case is EncoderError: return .dataError
        default: return nil
        }
    }
}
