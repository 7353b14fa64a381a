import Foundation
import HashData
import HashEncoders
import HashIdxVectors

/// Reads an encoder model file written by `hashidx train`.
func loadModel(_ path: String) throws -> any HashEncoder {
    try EncoderArchive.load(from: path)
}

/// Reads a vector file as a matrix, with progress on standard error.
func loadVectors(_ path: String) throws -> Matrix {
    Matrix(try VectorFile.read(path))
}
