import Foundation
import Testing
import Hamming
import HashData
import HashEncoders
import HashIdxVectors
import LMDB
@testable import HashIdx

/// Seeded mutation fuzzing of every input the command reads: hex, raw and npy codes, query files,
/// id files, fvecs, bvecs, npy vectors, IDX (plain and gzip), labels, encoder archives, index
/// files and the index's meta records.
///
/// Each case mutates a valid seed file (bit flips, interesting bytes, truncation, appended junk,
/// repeated slices, numbers in text replaced by huge ones), runs the command that reads it, and
/// requires: no signal, no hang, an exit status of the documented set, at most 4 GiB of address
/// space, and — after a failed write — an index whose committed state is exactly as before.
///
/// `swift test` runs 400 cases; `HASHIDX_FUZZ_CASES=20000 HASHIDX_FUZZ_SEED=7 swift test --filter FuzzTests`
/// runs a long one (RELIABILITY.md).
@Suite struct FuzzTests {
    static let allowedStatuses: Set<Int32> = [0, 64, 65, 66, 73, 74, 75, 77]

    enum Kind: String, CaseIterable {
        case hexCodes, rawCodes, npyCodes, queries, ids, fvecs, bvecs, npyVectors, idx, idxGzip, labels, archive, indexFile, metaRecord
    }

    /// Everything a case needs: seed files and a pristine index to copy.
    final class World {
        let dir = TemporaryDirectory("fuzz")
        var seeds: [Kind: [UInt8]] = [:]
        let pristine: String
        let model: String
        let codesNpy: String
        let vectorsNpy: String
        let labelsText: String

        init() throws {
            pristine = dir.sub("pristine")
            let index = try HashIndex.create(at: pristine, .init(bits: 64, substringCount: 3))
            index.maintenance = MaintenancePolicy(minimumDeltaRows: 100, deltaShare: 0.25, deadShare: 0.25)
            let data = dataset(bits: 64, count: 2_000, .clustered, seed: 12)
            try index.insert(Array(data[0..<1_500]))
            try index.insert(Array(data[1_500...]))
            _ = try index.remove(ids: data.prefix(40).map(\.id))
            let hexLines = data.prefix(50).map { "\($0.id) \($0.code.hex)" }.joined(separator: "\n") + "\n"
            seeds[.hexCodes] = Array(hexLines.utf8)
            let packed = data.prefix(50).flatMap(\.code.bytes)
            seeds[.rawCodes] = packed
            seeds[.npyCodes] = NpyWriter.file(descr: "|u1", shape: [50, 8], data: packed)
            seeds[.queries] = Array((data.prefix(5).map(\.code.hex).joined(separator: "\n") + "\n").utf8)
            seeds[.ids] = Array((data.prefix(10).map { String($0.id) }.joined(separator: "\n") + "\n").utf8)
            var rng = SeededRandom(seed: 21)
            let vectors = (0..<20).map { _ in (0..<24).map { _ in Float(rng.next() % 1000) / 1000 } }
            seeds[.fvecs] = vectors.flatMap { v in withUnsafeBytes(of: UInt32(24).littleEndian) { Array($0) } + v.flatMap { f in withUnsafeBytes(of: f.bitPattern.littleEndian) { Array($0) } } }
            seeds[.bvecs] = vectors.flatMap { v in withUnsafeBytes(of: UInt32(24).littleEndian) { Array($0) } + v.map { UInt8($0 * 255) } }
            let flat = vectors.flatMap { $0 }
            seeds[.npyVectors] = NpyWriter.file(descr: "<f4", shape: [20, 24], data: flat.flatMap { f in withUnsafeBytes(of: f.bitPattern.littleEndian) { Array($0) } })
            let idx: [UInt8] = [0, 0, 8, 3, 0, 0, 0, 20, 0, 0, 0, 4, 0, 0, 0, 6] + flat.map { UInt8($0 * 255) }
            seeds[.idx] = idx
            let plain = dir.sub("seed-idx")
            try Data(idx).write(to: URL(fileURLWithPath: plain))
            let gz = Process()
            gz.executableURL = URL(fileURLWithPath: "/bin/gzip")
            gz.arguments = ["-k", "-n", plain]
            try gz.run()
            gz.waitUntilExit()
            seeds[.idxGzip] = Array(try Data(contentsOf: URL(fileURLWithPath: plain + ".gz")))
            seeds[.labels] = [0, 0, 8, 1, 0, 0, 0, 20] + (0..<20).map { UInt8($0 % 3) }
            let x = Matrix(rows: 20, columns: 24, values: flat.map(Double.init))
            seeds[.archive] = try LinearTraining.pcah(x, bits: 16).archive().encoded()
            model = dir.sub("model")
            try Data(seeds[.archive]!).write(to: URL(fileURLWithPath: model))
            codesNpy = dir.sub("codes.npy")
            try Data(NpyWriter.file(descr: "|u1", shape: [20, 2], data: (0..<40).map { UInt8($0 * 7 & 0xFF) })).write(to: URL(fileURLWithPath: codesNpy))
            vectorsNpy = dir.sub("vectors.npy")
            try Data(seeds[.npyVectors]!).write(to: URL(fileURLWithPath: vectorsNpy))
            labelsText = dir.sub("labels.txt")
            try ((0..<20).map { String($0 % 3) }.joined(separator: "\n") + "\n").write(toFile: labelsText, atomically: true, encoding: .utf8)
            seeds[.indexFile] = Array(try Data(contentsOf: URL(fileURLWithPath: pristine + "/data.mdb")))
        }
    }

    /// One mutation of `seed`.
    static func mutate(_ seed: [UInt8], _ rng: inout SeededRandom) -> [UInt8] {
        var b = seed
        let rounds = 1 + Int(rng.next() % 4)
        for _ in 0..<rounds {
            switch rng.next() % 7 {
            case 0 where !b.isEmpty:  // bit flips
                for _ in 0..<(1 + Int(rng.next() % 8)) { b[Int(rng.next() % UInt64(b.count))] ^= 1 << UInt8(rng.next() % 8) }
            case 1 where !b.isEmpty:  // interesting bytes, alone or as a little-endian/big-endian word
                let values: [UInt8] = [0, 0xFF, 0x7F, 0x80, 0x01, 0x0A, 0x20, 0x2D, 0x30]
                let at = Int(rng.next() % UInt64(b.count))
                let width = [1, 4, 8][Int(rng.next() % 3)]
                let v = values[Int(rng.next() % UInt64(values.count))]
                for i in at..<min(b.count, at + width) { b[i] = v }
            case 2:  // truncation
                b = Array(b.prefix(Int(rng.next() % UInt64(b.count + 1))))
            case 3:  // junk appended
                b += (0..<Int(rng.next() % 64)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            case 4 where b.count > 8:  // a slice repeated
                let from = Int(rng.next() % UInt64(b.count))
                let len = min(b.count - from, 1 + Int(rng.next() % 256))
                let to = Int(rng.next() % UInt64(b.count))
                b.insert(contentsOf: b[from..<from + len], at: to)
            case 5:  // a decimal number in text replaced by a huge or negative one
                let digits = b.indices.filter { b[$0] >= 0x30 && b[$0] <= 0x39 }
                guard let at = digits.isEmpty ? nil : digits[Int(rng.next() % UInt64(digits.count))] else { break }
                var end = at
                while end < b.count && b[end] >= 0x30 && b[end] <= 0x39 { end += 1 }
                let replacements = ["4611686018427387904", "18446744073709551615", "99999999999999999999999", "-1", "0", "4294967296", "9223372036854775807"]
                b.replaceSubrange(at..<end, with: Array(replacements[Int(rng.next() % UInt64(replacements.count))].utf8))
            default:  // a 4-byte field set to a large value (lying lengths in binary headers)
                guard b.count >= 4 else { break }
                let at = Int(rng.next() % UInt64(b.count - 3))
                let v: [[UInt8]] = [[0xFF, 0xFF, 0xFF, 0xFF], [0xFF, 0xFF, 0xFF, 0x7F], [0, 0, 0, 0x80], [0, 0, 0x10, 0]]
                let pick = v[Int(rng.next() % 4)]
                b.replaceSubrange(at..<at + 4, with: rng.next() % 2 == 0 ? pick : pick.reversed())
            }
        }
        return b
    }

    /// Meta records are values inside LMDB: mutate one in place through LMDB (a committed lie).
    static func mutateMetaRecord(_ idx: String, _ rng: inout SeededRandom) throws {
        let env = try Environment(path: idx, mapSize: 1 << 30, maxDatabases: 64)
        let txn = try env.begin(readOnly: false)
        let meta = try txn.openDatabase(Format.metaTable)
        let keys = [Format.headerKey, Format.countKey, Format.rowsKey, Format.sealedKey]
        let key = keys[Int(rng.next() % UInt64(keys.count))]
        let old = try key.withUnsafeBytes { try txn.get(meta, key: $0) }.map { Array($0) } ?? []
        let new = mutate(old, &rng)
        try new.withUnsafeBytes { v in try key.withUnsafeBytes { k in try txn.put(meta, key: k, value: v) } }
        try txn.commit()
    }

    /// The committed state of an index, cheaply: LMDB's two meta pages change on every commit.
    static func committedState(_ idx: String) -> Data {
        ((try? FileHandle(forReadingFrom: URL(fileURLWithPath: idx + "/data.mdb")).read(upToCount: 2 * 4096)) ?? nil) ?? Data()
    }

    @Test func mutatedInputsNeverCrashHangOrHalfWrite() throws {
        let env = ProcessInfo.processInfo.environment
        let total = env["HASHIDX_FUZZ_CASES"].flatMap(Int.init) ?? 400
        var rng = SeededRandom(seed: env["HASHIDX_FUZZ_SEED"].flatMap(UInt64.init) ?? 1)
        let world = try World()
        // At most 4 GiB of address space: a lying length may not turn into a huge allocation.
        let limit = ["/bin/sh", "-c", "ulimit -v 4194304; exec \"$0\" \"$@\""]
        var perKind: [Kind: Int] = [:], statuses: [Int32: Int] = [:]
        var signals = 0, hangs = 0, halfWrites = 0, runs = 0
        var seconds: [Kind: Double] = [:]
        // Failing cases are kept here for reproduction.
        let keep = FileManager.default.temporaryDirectory.appendingPathComponent("hashidx-fuzz-failures").path
        for n in 0..<total {
            let kind = Kind.allCases[n % Kind.allCases.count]
            perKind[kind, default: 0] += 1
            let caseDir = world.dir.sub("case\(n)")
            try FileManager.default.createDirectory(atPath: caseDir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: caseDir) }
            let idx = caseDir + "/idx"
            try FileManager.default.copyItem(atPath: world.pristine, toPath: idx)
            let file = caseDir + "/input" + [Kind.npyCodes: ".npy", .npyVectors: ".npy", .fvecs: ".fvecs", .bvecs: ".bvecs"][kind, default: ""]
            var commands: [[String]]
            switch kind {
            case .metaRecord:
                try Self.mutateMetaRecord(idx, &rng)
                commands = [["stat", idx], ["verify", idx], ["knn", idx, "-k", "3", "--query", "0011223344556677"], ["add", idx, "-"]]
            case .indexFile:
                try Data(Self.mutate(world.seeds[.indexFile]!, &rng)).write(to: URL(fileURLWithPath: idx + "/data.mdb"))
                let all = [["stat", idx], ["verify", idx], ["knn", idx, "-k", "3", "--query", "0011223344556677"],
                           ["search", idx, "--radius", "4", "--query", "0011223344556677"], ["add", idx, "-"], ["remove", idx, "-"], ["compact", idx]]
                commands = [all[Int(rng.next() % UInt64(all.count))], all[Int(rng.next() % UInt64(all.count))]]
            default:
                try Data(Self.mutate(world.seeds[kind]!, &rng)).write(to: URL(fileURLWithPath: file))
                switch kind {
                case .hexCodes: commands = [["add", idx, file, "--batch-size", "7"]]
                case .rawCodes: commands = [["add", idx, file, "--input-format", "raw", "--batch-size", "7"]]
                case .npyCodes: commands = [["add", idx, file, "--batch-size", "7"]]
                case .queries: commands = [["knn", idx, "-k", "3", "--queries", file], ["search", idx, "--radius", "3", "--queries", file]]
                case .ids: commands = [["remove", idx, file]]
                case .fvecs, .bvecs, .npyVectors, .idx, .idxGzip:
                    commands = [["train", "--method", rng.next() % 2 == 0 ? "lsh" : "pcah", "--bits", "16", "--input", file, "--output", caseDir + "/m"],
                                ["encode", world.model, "--input", file]]
                case .labels:
                    commands = [["eval", "--database", world.codesNpy, "--queries", world.codesNpy, "--database-labels", file, "--query-labels", world.labelsText]]
                case .archive:
                    commands = [["encode", file, "--input", world.vectorsNpy], ["create", caseDir + "/new", "--encoder", file]]
                default: commands = []
                }
            }
            let caseStart = Date()
            defer { seconds[kind, default: 0] += Date().timeIntervalSince(caseStart) }
            let pristineCase = caseDir + ".orig"
            try? FileManager.default.removeItem(atPath: pristineCase)
            try FileManager.default.copyItem(atPath: caseDir, toPath: pristineCase)
            defer { try? FileManager.default.removeItem(atPath: pristineCase) }
            for args in commands {
                let before = Self.committedState(idx)
                let stdin: [UInt8] = args.last == "-" ? Array(args[0] == "add" ? "77 0011223344556677\n".utf8 : "77\n".utf8) : []
                let r = try CLI.run(args, input: stdin, prefix: limit, timeout: 30)
                runs += 1
                statuses[r.signaled ? -r.status : r.status, default: 0] += 1
                if r.signaled { signals += 1 }
                if r.hung { hangs += 1 }
                if r.signaled || r.hung {
                    try? FileManager.default.createDirectory(atPath: keep, withIntermediateDirectories: true)
                    try? FileManager.default.copyItem(atPath: pristineCase, toPath: keep + "/case\(n)-\(getpid())")
                }
                #expect(!r.signaled && !r.hung, "case \(n) (\(kind)): \(args.joined(separator: " ")) died by signal \(r.status) or hung; \(r.stderr.suffix(400))")
                #expect(r.signaled || r.hung || Self.allowedStatuses.contains(r.status),
                        "case \(n) (\(kind)): \(args.joined(separator: " ")) exited \(r.status); \(r.stderr.suffix(400))")
                if r.status != 0, ["add", "remove", "compact"].contains(args[0]), Self.committedState(idx) != before {
                    halfWrites += 1
                    Issue.record("case \(n) (\(kind)): a failed \(args[0]) changed the index: \(r.stderr.suffix(300))")
                }
                if r.status != 0 {
                    #expect(r.stderr.hasPrefix("Error: ") || r.stderr.contains("\nError: "),
                            "case \(n) (\(kind)): \(args.joined(separator: " ")): no message: \(r.stderr.prefix(200))")
                }
            }
        }
        print("fuzz: \(total) cases of \(perKind.count) kinds, \(runs) runs; \(signals) signals, \(hangs) hangs, \(halfWrites) failed writes that changed an index; exit statuses \(statuses.sorted { $0.key < $1.key }); seconds by kind \(seconds.mapValues { Int($0) })")
        #expect(Set(perKind.keys) == Set(Kind.allCases), "every input kind must be fuzzed")
    }
}
