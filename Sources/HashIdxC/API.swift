import Foundation
import Hamming
import HashData
import HashEncoders
import HashEval
import HashIdx
import HashIdxVectors
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// The functions of include/hashidx.h. Each checks its arguments, runs inside `guarded` and
// returns a status; none traps on any argument.

nonisolated(unsafe) private let versionString: UnsafeMutablePointer<CChar> = strdup(HashIndex.version)!
nonisolated(unsafe) private let statusNames: [UnsafeMutablePointer<CChar>] = HashIdxStatus.allCases.map { strdup($0.name)! }
nonisolated(unsafe) private let unknownStatus: UnsafeMutablePointer<CChar> = strdup("UNKNOWN")!

@c public func hashidx_version() -> UnsafePointer<CChar> { UnsafePointer(versionString) }

@c public func hashidx_format_version() -> Int32 { Int32(HashIndex.formatVersion) }

@c public func hashidx_last_error() -> UnsafePointer<CChar> { lastError() }

@c public func hashidx_status_name(_ status: Int32) -> UnsafePointer<CChar> {
    guard let s = HashIdxStatus(rawValue: status) else { return UnsafePointer(unknownStatus) }
    return UnsafePointer(statusNames[HashIdxStatus.allCases.firstIndex(of: s)!])
}

@c public func hashidx_free(_ pointer: UnsafeMutableRawPointer?) { free(pointer) }

// MARK: - Indexes

@c public func hashidx_create(_ path: UnsafePointer<CChar>?, _ bits: Int32, _ substrings: Int32, _ expectedCount: UInt64,
                              _ out: UnsafeMutablePointer<UInt64>?) -> Int32 {
    guarded {
        let out = try required(out, "out")
        let path = try string(path, "path")
        guard substrings >= 0 else { throw CallError.argument("substrings must be 0 (chosen) or at least 1, found \(substrings)") }
        guard expectedCount <= UInt64(Int.max) else { throw CallError.argument("expected_count is too large: \(expectedCount)") }
        let configuration = HashIndex.Configuration(bits: Int(bits), substringCount: substrings == 0 ? nil : Int(substrings),
                                                    expectedCount: expectedCount == 0 ? 1_000_000 : Int(expectedCount))
        let index = try HashIndex.create(at: path, configuration)
        out.pointee = Handles.shared.add(IndexBox(index))
    }
}

@c public func hashidx_open(_ path: UnsafePointer<CChar>?, _ readOnly: Int32, _ out: UnsafeMutablePointer<UInt64>?) -> Int32 {
    guarded {
        let out = try required(out, "out")
        let path = try string(path, "path")
        let index = try HashIndex.open(at: path, mode: readOnly != 0 ? .readOnly : .readWrite)
        out.pointee = Handles.shared.add(IndexBox(index))
    }
}

@c public func hashidx_close(_ handle: UInt64) -> Int32 {
    guarded { try Handles.shared.remove(handle, as: IndexBox.self, "an index").index.close() }
}

@c public func hashidx_info(_ handle: UInt64, _ bits: UnsafeMutablePointer<Int32>?, _ substrings: UnsafeMutablePointer<Int32>?,
                            _ codeBytes: UnsafeMutablePointer<Int>?, _ readOnly: UnsafeMutablePointer<Int32>?) -> Int32 {
    guarded {
        let index = try index(handle).index
        bits?.pointee = Int32(index.bits)
        substrings?.pointee = Int32(index.layout.count)
        codeBytes?.pointee = index.codeBytes
        readOnly?.pointee = index.isReadOnly ? 1 : 0
    }
}

@c public func hashidx_count(_ handle: UInt64, _ out: UnsafeMutablePointer<UInt64>?) -> Int32 {
    guarded {
        let out = try required(out, "count")
        out.pointee = UInt64(try index(handle).index.count)
    }
}

/// The shared body of hashidx_add and hashidx_add_vectors, once codes are packed.
private func add(_ index: HashIndex, ids: UnsafePointer<UInt64>?, n: Int, packed: [UInt8],
                 _ inserted: UnsafeMutablePointer<UInt64>?, _ replaced: UnsafeMutablePointer<UInt64>?) throws {
    let summary: InsertSummary
    if let ids {
        summary = try index.insert(ids: Array(UnsafeBufferPointer(start: ids, count: n)), packedCodes: packed)
    } else {
        summary = try index.append(packedCodes: packed).summary
    }
    inserted?.pointee = UInt64(summary.inserted)
    replaced?.pointee = UInt64(summary.replaced)
}

@c public func hashidx_add(_ handle: UInt64, _ ids: UnsafePointer<UInt64>?, _ codes: UnsafePointer<UInt8>?, _ n: Int,
                           _ codeBytes: Int, _ inserted: UnsafeMutablePointer<UInt64>?, _ replaced: UnsafeMutablePointer<UInt64>?) -> Int32 {
    guarded {
        let index = try index(handle).index
        let bytes = try packedCodes(codes, n, codeBytes, bits: index.bits, "codes")
        if n > 0 && ids == nil && index.isReadOnly { throw HashIdxError.readOnly(path: index.path) }
        guard n > 0 else { inserted?.pointee = 0; replaced?.pointee = 0; return }
        try add(index, ids: ids, n: n, packed: Array(bytes), inserted, replaced)
    }
}

@c public func hashidx_remove(_ handle: UInt64, _ ids: UnsafePointer<UInt64>?, _ n: Int, _ removed: UnsafeMutablePointer<UInt64>?) -> Int32 {
    guarded {
        let index = try index(handle).index
        let n = try count(n, "n")
        let list = n == 0 ? [] : Array(UnsafeBufferPointer(start: try required(ids, "ids"), count: n))
        let r = try index.remove(ids: list)
        removed?.pointee = UInt64(r)
    }
}

@c public func hashidx_get(_ handle: UInt64, _ id: UInt64, _ code: UnsafeMutablePointer<UInt8>?, _ codeBytes: Int,
                           _ found: UnsafeMutablePointer<Int32>?) -> Int32 {
    guarded {
        let index = try index(handle).index
        let found = try required(found, "found")
        let out = try packedCodes(UnsafePointer(code), 1, codeBytes, bits: index.bits, "code")
        guard let stored = try index.code(for: id) else { found.pointee = 0; return }
        UnsafeMutableRawBufferPointer(mutating: out).copyBytes(from: stored.bytes)
        found.pointee = 1
    }
}

@c public func hashidx_verify(_ handle: UInt64, _ checked: UnsafeMutablePointer<UInt64>?) -> Int32 {
    guarded {
        let n = try index(handle).index.verify()
        checked?.pointee = UInt64(n)
    }
}

@c public func hashidx_compact(_ handle: UInt64, _ live: UnsafeMutablePointer<UInt64>?) -> Int32 {
    guarded {
        let n = try index(handle).index.compact()
        live?.pointee = UInt64(n)
    }
}

@c public func hashidx_stat_json(_ handle: UInt64, _ json: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    guarded {
        let json = try required(json, "json")
        let stats = try index(handle).index.statistics()
        json.pointee = try jsonString(stats)
    }
}

@c public func hashidx_bucket_stats_json(_ handle: UInt64, _ largest: Int32,
                                         _ json: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    guarded {
        let json = try required(json, "json")
        let stats = try index(handle).index.bucketStatistics(largest: Int(largest))
        json.pointee = try jsonString(stats)
    }
}

@c public func hashidx_export(_ handle: UInt64,
                              _ callback: (@convention(c) (UnsafeMutableRawPointer?, UnsafePointer<UInt64>?, UnsafePointer<UInt8>?, Int) -> Int32)?,
                              _ context: UnsafeMutableRawPointer?) -> Int32 {
    guarded {
        let index = try index(handle).index
        let callback = try required(callback, "callback")
        struct Stop: Error {}
        do {
            try index.forEachCode { ids, packed in
                let r = ids.withUnsafeBufferPointer { i in
                    packed.withUnsafeBufferPointer { p in callback(context, i.baseAddress, p.baseAddress, ids.count) }
                }
                if r != 0 { throw Stop() }
            }
        } catch is Stop {}
    }
}

// MARK: - Search

/// The shared body of the k-NN calls, once queries are packed.
private func search(_ box: IndexBox, _ queries: UnsafeRawBufferPointer, nq: Int, k: Int32, threads: Int32,
                    _ distances: UnsafeMutablePointer<Int32>?, _ ids: UnsafeMutablePointer<Int64>?,
                    _ stats: UnsafeMutableRawPointer?) throws {
    let threads = try threadCount(threads)
    let index = box.index, path = box.path
    guard k >= 1 else { throw HashIdxError.invalidK(Int(k)) }
    guard nq > 0 else { return }
    _ = try product(nq, Int(k), "nq × k")          // the result slots' count must not overflow
    let distances = try required(distances, "distances"), ids = try required(ids, "ids")
    guard let stats else {
        try index.nearest(packedQueries: queries, k: Int(k), distances: distances, ids: ids, path: path, threads: threads)
        return
    }
    var statistics = [QueryStatistics](repeating: QueryStatistics(), count: nq)
    try statistics.withUnsafeMutableBufferPointer { s in
        try index.nearest(packedQueries: queries, k: Int(k), distances: distances, ids: ids, statistics: s.baseAddress,
                          path: path, threads: threads)
    }
    for (i, s) in statistics.enumerated() { s.write(to: stats + i * QueryStatistics.cSize) }
}

/// The shared body of the range calls.
private func rangeSearch(_ box: IndexBox, _ queries: UnsafeRawBufferPointer, nq: Int, radius: Int32, threads: Int32,
                         _ lims: UnsafeMutablePointer<Int>?, _ result: UnsafeMutablePointer<UInt64>?,
                         _ stats: UnsafeMutableRawPointer?) throws {
    let threads = try threadCount(threads)
    let lims = try required(lims, "lims"), result = try required(result, "result")
    let results = try box.index.search(packedQueries: queries, radius: Int(radius), path: box.path, threads: threads)
    for i in 0...nq { lims[i] = results.lims[i] }
    if let stats { for (i, s) in results.statistics.enumerated() { s.write(to: stats + i * QueryStatistics.cSize) } }
    result.pointee = Handles.shared.add(RangeBox(results))
}

@c public func hashidx_search(_ handle: UInt64, _ queries: UnsafePointer<UInt8>?, _ nq: Int, _ codeBytes: Int, _ k: Int32,
                              _ threads: Int32, _ distances: UnsafeMutablePointer<Int32>?, _ ids: UnsafeMutablePointer<Int64>?,
                              _ stats: UnsafeMutableRawPointer?) -> Int32 {
    guarded {
        let box = try index(handle)
        let q = try packedCodes(queries, nq, codeBytes, bits: box.index.bits, "queries")
        try search(box, q, nq: nq, k: k, threads: threads, distances, ids, stats)
    }
}

@c public func hashidx_force_path(_ handle: UInt64, _ path: Int32) -> Int32 {
    guarded {
        let box = try index(handle)
        switch path {
        case 0: box.path = .automatic
        case 1: box.path = .probe
        case 2: box.path = .scan
        default: throw CallError.argument("path must be HASHIDX_PATH_AUTO (0), HASHIDX_PATH_PROBE (1) or HASHIDX_PATH_SCAN (2), found \(path)")
        }
    }
}

@c public func hashidx_range_search(_ handle: UInt64, _ queries: UnsafePointer<UInt8>?, _ nq: Int, _ codeBytes: Int, _ radius: Int32,
                                    _ threads: Int32, _ lims: UnsafeMutablePointer<Int>?, _ result: UnsafeMutablePointer<UInt64>?,
                                    _ stats: UnsafeMutableRawPointer?) -> Int32 {
    guarded {
        let box = try index(handle)
        let q = try packedCodes(queries, nq, codeBytes, bits: box.index.bits, "queries")
        try rangeSearch(box, q, nq: nq, radius: radius, threads: threads, lims, result, stats)
    }
}

@c public func hashidx_range_result_get(_ handle: UInt64, _ distances: UnsafeMutablePointer<UnsafePointer<Int32>?>?,
                                        _ ids: UnsafeMutablePointer<UnsafePointer<Int64>?>?, _ count: UnsafeMutablePointer<Int>?) -> Int32 {
    guarded {
        let box = try Handles.shared.get(handle, as: RangeBox.self, "a range result")
        // The arrays live as long as the box, which the handle table holds until freed.
        let (d, i) = box.arrays()
        distances?.pointee = d.baseAddress.map { UnsafePointer($0) }
        ids?.pointee = i.baseAddress.map { UnsafePointer($0) }
        count?.pointee = box.results.count
    }
}

@c public func hashidx_range_result_free(_ handle: UInt64) -> Int32 {
    guarded { _ = try Handles.shared.remove(handle, as: RangeBox.self, "a range result") }
}

@c public func hashidx_range_result_take(_ handle: UInt64, _ distances: UnsafeMutablePointer<Int32>?,
                                         _ ids: UnsafeMutablePointer<Int64>?) -> Int32 {
    guarded {
        let box = try Handles.shared.remove(handle, as: RangeBox.self, "a range result")
        box.results.write(distances: distances, ids: ids)
    }
}

// MARK: - Encoders

@c public func hashidx_train(_ method: UnsafePointer<CChar>?, _ vectors: UnsafePointer<Float>?, _ n: Int, _ dim: Int,
                             _ labels: UnsafePointer<Int64>?, _ bits: Int32, _ options: UnsafePointer<CChar>?, _ threads: Int32,
                             _ out: UnsafeMutablePointer<UInt64>?) -> Int32 {
    guarded {
        let out = try required(out, "out")
        let name = try string(method, "method")
        guard let method = HashingMethod(rawValue: name) else { throw EncoderError.unknownMethod(name) }
        let o = try TrainingOptions.fromJSON(options == nil ? "" : try string(options, "options_json"))
        try o.validate(method: method, bits: Int(bits), hasLabels: labels != nil)
        let n = try count(n, "n"), dim = try count(dim, "dim")
        guard n >= 1, dim >= 1 else { throw CallError.argument("training needs at least one vector of at least one dimension; found \(n) × \(dim)") }
        let total = try product(n, dim, "vectors")
        let x = UnsafeBufferPointer(start: try required(vectors, "vectors"), count: total)
        if let bad = x.firstIndex(where: { !$0.isFinite }) {
            throw CallError.argument("vector \(bad / dim) has a NaN or infinite value at dimension \(bad % dim); expected finite numbers")
        }
        guard threads >= 0 else { throw CallError.argument("threads must be 0 (leave as is) or at least 1, found \(threads)") }
        if threads > 0 { LinearAlgebraThreads.set(Int(threads)) }
        let y = labels.map { l in (0..<n).map { Int(l[$0]) } }
        let matrix = Matrix(rows: n, columns: dim, values: x.map(Double.init))
        let trained = try method.train(matrix, labels: y, bits: Int(bits), options: o)
        out.pointee = Handles.shared.add(EncoderBox(trained.encoder))
    }
}

@c public func hashidx_encoder_load(_ path: UnsafePointer<CChar>?, _ out: UnsafeMutablePointer<UInt64>?) -> Int32 {
    guarded {
        let out = try required(out, "out")
        let e = try EncoderArchive.load(from: try string(path, "path"))
        out.pointee = Handles.shared.add(EncoderBox(e))
    }
}

@c public func hashidx_encoder_save(_ handle: UInt64, _ path: UnsafePointer<CChar>?) -> Int32 {
    guarded { try EncoderArchive.save(try encoder(handle).encoder, to: try string(path, "path")) }
}

@c public func hashidx_encoder_free(_ handle: UInt64) -> Int32 {
    guarded { _ = try Handles.shared.remove(handle, as: EncoderBox.self, "an encoder") }
}

@c public func hashidx_encoder_info(_ handle: UInt64, _ bits: UnsafeMutablePointer<Int32>?, _ dim: UnsafeMutablePointer<Int>?,
                                    _ method: UnsafeMutablePointer<UnsafePointer<CChar>?>?) -> Int32 {
    guarded {
        let box = try encoder(handle)
        bits?.pointee = Int32(box.encoder.bits)
        dim?.pointee = box.encoder.dimension
        method?.pointee = UnsafePointer(box.method)
    }
}

/// Packed codes of float rows, by `encoder`.
private func encode(_ encoder: any HashEncoder, _ vectors: UnsafePointer<Float>?, _ n: Int, _ dim: Int) throws -> [UInt8] {
    let rows = try floatRows(vectors, n, dim, encoder: encoder, "vectors")
    if rows.isEmpty { return [] }
    return try encoder.encode(rows: n, floats: rows)
}

@c public func hashidx_encode(_ handle: UInt64, _ vectors: UnsafePointer<Float>?, _ n: Int, _ dim: Int,
                              _ codes: UnsafeMutablePointer<UInt8>?, _ codeBytes: Int) -> Int32 {
    guarded {
        let e = try encoder(handle).encoder
        let out = try packedCodes(UnsafePointer(codes), n, codeBytes, bits: e.bits, "codes")
        let packed = try encode(e, vectors, n, dim)
        UnsafeMutableRawBufferPointer(mutating: out).copyBytes(from: packed)
    }
}

// MARK: - Indexes that store their encoder

@c public func hashidx_create_with_encoder(_ path: UnsafePointer<CChar>?, _ handle: UInt64, _ substrings: Int32,
                                           _ expectedCount: UInt64, _ out: UnsafeMutablePointer<UInt64>?) -> Int32 {
    guarded {
        let out = try required(out, "out")
        let e = try encoder(handle).encoder
        let path = try string(path, "path")
        guard substrings >= 0 else { throw CallError.argument("substrings must be 0 (chosen) or at least 1, found \(substrings)") }
        guard expectedCount <= UInt64(Int.max) else { throw CallError.argument("expected_count is too large: \(expectedCount)") }
        let index = try HashIndex.create(at: path, encoder: e, substringCount: substrings == 0 ? nil : Int(substrings),
                                         expectedCount: expectedCount == 0 ? 1_000_000 : Int(expectedCount))
        out.pointee = Handles.shared.add(IndexBox(index))
    }
}

@c public func hashidx_index_encoder(_ handle: UInt64, _ out: UnsafeMutablePointer<UInt64>?) -> Int32 {
    guarded {
        let out = try required(out, "out")
        out.pointee = Handles.shared.add(EncoderBox(try index(handle).encoder()))
    }
}

@c public func hashidx_add_vectors(_ handle: UInt64, _ ids: UnsafePointer<UInt64>?, _ vectors: UnsafePointer<Float>?, _ n: Int,
                                   _ dim: Int, _ inserted: UnsafeMutablePointer<UInt64>?, _ replaced: UnsafeMutablePointer<UInt64>?) -> Int32 {
    guarded {
        let box = try index(handle)
        let packed = try encode(try box.encoder(), vectors, n, dim)
        guard n > 0 else { inserted?.pointee = 0; replaced?.pointee = 0; return }
        try add(box.index, ids: ids, n: n, packed: packed, inserted, replaced)
    }
}

@c public func hashidx_search_vectors(_ handle: UInt64, _ queries: UnsafePointer<Float>?, _ nq: Int, _ dim: Int, _ k: Int32,
                                      _ threads: Int32, _ distances: UnsafeMutablePointer<Int32>?, _ ids: UnsafeMutablePointer<Int64>?,
                                      _ stats: UnsafeMutableRawPointer?) -> Int32 {
    guarded {
        let box = try index(handle)
        let packed = try encode(try box.encoder(), queries, nq, dim)
        try packed.withUnsafeBytes { q in try search(box, q, nq: nq, k: k, threads: threads, distances, ids, stats) }
    }
}

@c public func hashidx_range_search_vectors(_ handle: UInt64, _ queries: UnsafePointer<Float>?, _ nq: Int, _ dim: Int, _ radius: Int32,
                                            _ threads: Int32, _ lims: UnsafeMutablePointer<Int>?, _ result: UnsafeMutablePointer<UInt64>?,
                                            _ stats: UnsafeMutableRawPointer?) -> Int32 {
    guarded {
        let box = try index(handle)
        let packed = try encode(try box.encoder(), queries, nq, dim)
        try packed.withUnsafeBytes { q in try rangeSearch(box, q, nq: nq, radius: radius, threads: threads, lims, result, stats) }
    }
}

// MARK: - Evaluation

/// The checked arguments of the evaluation calls, evaluated.
private func evaluation(_ database: UnsafePointer<UInt8>?, _ nDB: Int, _ queries: UnsafePointer<UInt8>?, _ nq: Int, _ bits: Int32,
                        _ databaseLabels: UnsafePointer<Int64>?, _ queryLabels: UnsafePointer<Int64>?,
                        _ cutoffs: UnsafePointer<Int>?, _ nCutoffs: Int, _ threads: Int32) throws -> (EvaluationReport, [Int]) {
    guard BinaryCode.supportedBits.contains(Int(bits)) else { throw CallError.argument("bits must be between 8 and 1024, found \(bits)") }
    let bits = Int(bits), codeBytes = (bits + 7) / 8
    let db = try packedCodes(database, nDB, codeBytes, bits: bits, "database")
    let q = try packedCodes(queries, nq, codeBytes, bits: bits, "queries")
    let nCutoffs = try count(nCutoffs, "n_cutoffs")
    let cuts = nCutoffs == 0 ? [] : Array(UnsafeBufferPointer(start: try required(cutoffs, "cutoffs"), count: nCutoffs))
    guard cuts.allSatisfy({ $0 >= 1 }) else { throw CallError.argument("cutoffs must be at least 1, found \(cuts)") }
    let threads = try threadCount(threads) ?? ProcessInfo.processInfo.activeProcessorCount
    guard nDB >= 1, nq >= 1 else { throw CallError.argument("evaluation needs at least one database item and one query; found \(nDB) and \(nq)") }
    for (name, bytes) in [("database", db), ("queries", q)] where bits & 7 != 0 {
        for i in stride(from: codeBytes - 1, to: bytes.count, by: codeBytes) where bytes[i] >> UInt8(bits & 7) != 0 {
            throw CallError(.badCode, "\(name) code \(i / codeBytes) has a one in its padding bits")
        }
    }
    let dbLabels = try required(databaseLabels, "database_labels"), qLabels = try required(queryLabels, "query_labels")
    let dbl = (0..<nDB).map { [Int(dbLabels[$0])] }
    let ql = (0..<nq).map { [Int(qLabels[$0])] }
    let report = Evaluation.evaluate(database: Array(db), databaseLabels: dbl, queries: Array(q), queryLabels: ql, bits: bits,
                                     cutoffs: cuts, threads: threads)
    return (report, cuts)
}

@c public func hashidx_evaluate(_ database: UnsafePointer<UInt8>?, _ nDB: Int, _ queries: UnsafePointer<UInt8>?, _ nq: Int, _ bits: Int32,
                                _ databaseLabels: UnsafePointer<Int64>?, _ queryLabels: UnsafePointer<Int64>?,
                                _ cutoffs: UnsafePointer<Int>?, _ nCutoffs: Int, _ threads: Int32,
                                _ out: UnsafeMutableRawPointer?, _ mapAt: UnsafeMutablePointer<Double>?,
                                _ precisionAt: UnsafeMutablePointer<Double>?, _ withinRadius: UnsafeMutablePointer<Double>?) -> Int32 {
    guarded {
        let out = try required(out, "out")
        let (report, cuts) = try evaluation(database, nDB, queries, nq, bits, databaseLabels, queryLabels, cutoffs, nCutoffs, threads)
        out.storeBytes(of: report.meanAveragePrecisionTieAware, toByteOffset: 0, as: Double.self)
        out.storeBytes(of: report.meanAveragePrecision, toByteOffset: 8, as: Double.self)
        out.storeBytes(of: Int64(report.queries), toByteOffset: 16, as: Int64.self)
        out.storeBytes(of: Int64(report.databaseSize), toByteOffset: 24, as: Int64.self)
        for (i, c) in cuts.enumerated() {
            mapAt?[i] = report.meanAveragePrecisionAt[c] ?? 0
            precisionAt?[i] = report.precisionAt[c] ?? 0
        }
        if let withinRadius { for r in 0...Int(bits) { withinRadius[r] = report.precisionWithinRadius[r] } }
    }
}

@c public func hashidx_evaluate_json(_ database: UnsafePointer<UInt8>?, _ nDB: Int, _ queries: UnsafePointer<UInt8>?, _ nq: Int, _ bits: Int32,
                                     _ databaseLabels: UnsafePointer<Int64>?, _ queryLabels: UnsafePointer<Int64>?,
                                     _ cutoffs: UnsafePointer<Int>?, _ nCutoffs: Int, _ threads: Int32,
                                     _ json: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    guarded {
        let json = try required(json, "json")
        let (report, _) = try evaluation(database, nDB, queries, nq, bits, databaseLabels, queryLabels, cutoffs, nCutoffs, threads)
        json.pointee = try jsonString(report)
    }
}
