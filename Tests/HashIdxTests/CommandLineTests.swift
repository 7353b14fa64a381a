import Foundation
import Testing
import Hamming
import HashData
@testable import HashIdx

/// Runs the built `hashidx` end to end.
struct CLI {
    static let binary: String = {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var dir = URL(fileURLWithPath: exe).deletingLastPathComponent()
        // On Linux the test runner is <products>/hashidxPackageTests.xctest.
        if dir.lastPathComponent.hasSuffix(".xctest") { dir = dir.deletingLastPathComponent() }
        return dir.appendingPathComponent("hashidx").path
    }()

    struct Output {
        var status: Int32
        var stdout: String
        var stderr: String
        /// Whether the process was killed by a signal (`status` is then the signal number).
        var signaled = false
        /// Whether it was still running at the time limit (and was killed).
        var hung = false
    }

    /// Runs the command with `stdin` bytes, standard output to `stdoutPath` (else captured),
    /// through `prefix` (for example `setpriv …` or `sh -c 'ulimit …; exec "$0" "$@"'`), killed
    /// after `timeout` seconds.
    static func run(_ arguments: [String], input: [UInt8], stdoutPath: String? = nil, prefix: [String] = [],
                    timeout: Double = 60) throws -> Output {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: prefix.first ?? binary)
        p.arguments = prefix.isEmpty ? arguments : Array(prefix.dropFirst()) + [binary] + arguments
        let out = Pipe(), err = Pipe(), stdinPipe = Pipe()
        if let stdoutPath {
            p.standardOutput = FileHandle(forWritingAtPath: stdoutPath)
        } else {
            p.standardOutput = out
        }
        p.standardError = err
        p.standardInput = stdinPipe
        try p.run()
        let writer = Thread {
            signal(SIGPIPE, SIG_IGN)
            try? stdinPipe.fileHandleForWriting.write(contentsOf: Data(input))
            try? stdinPipe.fileHandleForWriting.close()
        }
        writer.start()
        let deadline = Date().addingTimeInterval(timeout)
        let hung = Flag()
        nonisolated(unsafe) let process = p
        let timer = Thread {
            while process.isRunning {
                if Date() > deadline { hung.set(); kill(process.processIdentifier, SIGKILL); return }
                Thread.sleep(forTimeInterval: 0.01)
            }
        }
        timer.start()
        let o = stdoutPath == nil ? out.fileHandleForReading.readDataToEndOfFile() : Data()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Output(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self),
                      stderr: String(decoding: e, as: UTF8.self), signaled: p.terminationReason == .uncaughtSignal, hung: hung.value)
    }

    @discardableResult
    static func run(_ arguments: [String], stdin: String? = nil) throws -> Output {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = arguments
        let out = Pipe(), err = Pipe(), input = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = input
        try p.run()
        if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
        try input.fileHandleForWriting.close()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Output(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }
}

/// A flag set by one thread and read by another.
final class Flag: @unchecked Sendable {
    private let lock = NSLock()
    private var _value = false
    var value: Bool { lock.lock(); defer { lock.unlock() }; return _value }
    func set() { lock.lock(); _value = true; lock.unlock() }
}

@Suite struct CommandLineTests {
    @Test func createAddSearchKnnStatVerifyEndToEnd() throws {
        let dir = TemporaryDirectory()
        let idx = dir.sub("idx")
        let data = dataset(bits: 32, count: 300, .clustered, seed: 77)
        var oracle = Oracle()
        oracle.insert(data)
        #expect(try CLI.run(["create", idx, "--bits", "32", "--substrings", "3"]).status == 0)
        let hex = data.map { "\($0.id) \($0.code.hex)" }.joined(separator: "\n") + "\n"
        let add = try CLI.run(["add", idx, "-"], stdin: "# a comment\n\n" + hex)
        #expect(add.status == 0, "\(add.stderr)")
        #expect(add.stderr.contains("added 300 new"))

        let qs = queries(from: data, bits: 32, count: 5, seed: 77)
        let qfile = dir.sub("q.txt")
        try (qs.map(\.hex).joined(separator: "\n") + "\n").write(toFile: qfile, atomically: true, encoding: .utf8)

        let search = try CLI.run(["search", idx, "--radius", "4", "--queries", qfile, "--format", "jsonl"])
        #expect(search.status == 0, "\(search.stderr)")
        let lines = search.stdout.split(separator: "\n")
        #expect(lines.count == qs.count)
        for (i, line) in lines.enumerated() {
            let obj = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            #expect(obj["query"] as? Int == i)
            let got = (obj["neighbors"] as! [[String: Any]]).map { Neighbor(id: UInt64($0["id"] as! Int), distance: $0["distance"] as! Int) }
            #expect(got == oracle.range(qs[i], radius: 4))
            let stats = obj["stats"] as! [String: Any]
            #expect(stats["lookups"] is Int && stats["candidates"] is Int && stats["path"] is String && stats["seconds"] is Double)
        }

        let knn = try CLI.run(["knn", idx, "-k", "7", "--query", qs[1].hex.uppercased()])
        #expect(knn.status == 0, "\(knn.stderr)")
        let rows = knn.stdout.split(separator: "\n").filter { !$0.hasPrefix("#") }.map { $0.split(separator: " ") }
        #expect(rows.map { Neighbor(id: UInt64($0[0])!, distance: Int($0[1])!) } == oracle.nearest(qs[1], k: 7))

        let stat = try CLI.run(["stat", idx, "--format", "json"])
        let s = try JSONSerialization.jsonObject(with: Data(stat.stdout.utf8)) as! [String: Any]
        #expect(s["count"] as? Int == 300 && s["bits"] as? Int == 32 && s["substring_count"] as? Int == 3)
        #expect(s["buckets"] == nil)
        // --buckets: each table's spread, the same as the library's count (itself checked against an oracle).
        let spread = try CLI.run(["stat", idx, "--buckets", "--largest", "2", "--format", "json"])
        let tables = try #require((try JSONSerialization.jsonObject(with: Data(spread.stdout.utf8)) as! [String: Any])["buckets"] as? [[String: Any]])
        let library = try HashIndex.open(at: idx, mode: .readOnly).bucketStatistics(largest: 2)
        #expect(tables.map { $0["buckets"] as? Int } == library.map(\.buckets))
        #expect(tables.map { $0["rows"] as? Int } == [300, 300, 300])
        #expect(tables.map { ($0["largest"] as? [[String: Any]])?.map { $0["rows"] as? Int } } == library.map { $0.largest.map(\.rows) })
        let text = try CLI.run(["stat", idx, "--buckets"]).stdout
        #expect(text.contains("buckets of table 2") && text.contains("a stored code's bucket holds"))
        #expect(try CLI.run(["stat", idx, "--buckets", "--largest=-1"]).stderr.contains("--largest must be at least 0, found -1"))
        #expect(try CLI.run(["verify", idx]).stdout.contains("ok: 300 codes"))

        // Remove through the command, then the index answers without those ids.
        let victims = data.prefix(50).map(\.id)
        #expect(try CLI.run(["remove", idx, "-"], stdin: victims.map(String.init).joined(separator: "\n")).status == 0)
        oracle.remove(victims)
        let after = try CLI.run(["knn", idx, "-k", "3", "--query", qs[0].hex, "--format", "jsonl"])
        let obj = try JSONSerialization.jsonObject(with: Data(after.stdout.utf8)) as! [String: Any]
        let got = (obj["neighbors"] as! [[String: Any]]).map { Neighbor(id: UInt64($0["id"] as! Int), distance: $0["distance"] as! Int) }
        #expect(got == oracle.nearest(qs[0], k: 3))
    }

    @Test func rawAndNpyInputsGiveRowNumberIds() throws {
        let dir = TemporaryDirectory()
        let data = dataset(bits: 13, count: 120, .uniform, seed: 3)
        let packed = data.flatMap(\.code.bytes)
        try Data(packed).write(to: URL(fileURLWithPath: dir.sub("codes.raw")))
        try Data(NpyWriter.file(descr: "|u1", shape: [120, 2], data: packed)).write(to: URL(fileURLWithPath: dir.sub("codes.npy")))
        for format in ["raw", "npy"] {
            let idx = dir.sub("idx-\(format)")
            #expect(try CLI.run(["create", idx, "--bits", "13"]).status == 0)
            let add = try CLI.run(["add", idx, dir.sub("codes.\(format)"), "--input-format", format, "--batch-size", "17"])
            #expect(add.status == 0, "\(add.stderr)")
            let index = try HashIndex.open(at: idx, mode: .readOnly)
            #expect(try index.count == 120)
            for (row, e) in data.enumerated() { #expect(try index.code(for: UInt64(row)) == e.code) }
        }
    }

    @Test func idsFileCompactAndUpgradeEndToEnd() throws {
        let dir = TemporaryDirectory()
        let data = dataset(bits: 64, count: 300, .clustered, seed: 8)
        let packed = data.flatMap(\.code.bytes)
        try Data(NpyWriter.file(descr: "|u1", shape: [300, 8], data: packed)).write(to: URL(fileURLWithPath: dir.sub("codes.npy")))
        try (data.map { String($0.id) }.joined(separator: "\n") + "\n").write(toFile: dir.sub("ids.txt"), atomically: true, encoding: .utf8)
        let idx = dir.sub("idx")
        #expect(try CLI.run(["create", idx, "--bits", "64"]).status == 0)
        let add = try CLI.run(["add", idx, dir.sub("codes.npy"), "--input-format", "npy", "--ids", dir.sub("ids.txt")])
        #expect(add.status == 0, "\(add.stderr)")
        // Fewer ids than codes, and --ids with hex input, are refused before anything is written.
        try "1\n2\n".write(toFile: dir.sub("short.txt"), atomically: true, encoding: .utf8)
        let short = try CLI.run(["add", idx, dir.sub("codes.npy"), "--input-format", "npy", "--ids", dir.sub("short.txt")])
        #expect(short.status != 0 && short.stderr.contains("expected 300 ids, one per code of"), "\(short.stderr)")
        let twice = try CLI.run(["add", idx, "-", "--ids", dir.sub("ids.txt")], stdin: "5 aabbccddeeff0011\n")
        #expect(twice.status == 65 && twice.stderr.contains("carry their own ids"), "\(twice.stderr)")
        #expect(try CLI.run(["remove", idx, "-"], stdin: "\(data[0].id)\n\(data[1].id)\n").status == 0)
        let before = try HashIndex.open(at: idx, mode: .readOnly).statistics()
        #expect(before.count == 298 && before.rows == 300)
        let compact = try CLI.run(["compact", idx])
        #expect(compact.status == 0 && compact.stderr.contains("298 codes"), "\(compact.stderr)")
        let index = try HashIndex.open(at: idx, mode: .readOnly)
        let after = try index.statistics()
        #expect(after.count == 298 && after.rows == 298 && after.sealedRows == 298)
        for e in data.dropFirst(2).prefix(50) { #expect(try index.code(for: e.id) == e.code) }
        #expect(try index.code(for: data[0].id) == nil)
        #expect(try CLI.run(["verify", idx]).stdout.contains("298 codes"))
        let stat = try CLI.run(["stat", idx]).stdout
        #expect(stat.contains("298 sealed") && stat.contains("free bytes"))
        #expect(try CLI.run(["upgrade", idx]).stderr.contains("already at format version 3"))
    }

    /// Each bad input: non-zero exit, a message naming what was expected and found, index unchanged.
    @Test func badInputsFailCleanlyAndLeaveTheIndexUnchanged() throws {
        let dir = TemporaryDirectory()
        let idx = dir.sub("idx")
        #expect(try CLI.run(["create", idx, "--bits", "16", "--substrings", "2"]).status == 0)
        #expect(try CLI.run(["add", idx, "-"], stdin: "1 abcd\n2 0102\n").status == 0)
        let before = try Data(contentsOf: URL(fileURLWithPath: idx + "/data.mdb"))

        let cases: [([String], String?, String)] = [
            (["add", idx, "-"], "3 aabb\n4 abc\n", "-:2: a 16-bit code takes 4 hex digits, found 3"),                     // wrong length, line 2
            (["add", idx, "-"], "3 aabb\n4 zzzz\n", "found 'z' at position 0"),          // bad hex
            (["add", idx, "-"], "3 aabb\n-4 aabb\n", "expected an id between 0"),        // id not a UInt64
            (["add", idx, "-"], "18446744073709551616 aabb\n", "expected an id between 0"),
            (["add", idx, "-"], "+5 aabb\n", "expected an id between 0"),              // digits only
            (["remove", idx, "-"], "-0\n", "expected an id between 0"),
            (["add", idx, "-"], "3\n", "a 16-bit code takes 4 hex digits, found 1"),
            (["add", idx, "-"], "3 aabb\naabb\n", "expected '<id> <hex code>' like the lines before"),
            (["add", idx, "-"], "3 aabb cc\n", "found 3 fields"),
            (["knn", idx, "-k", "0", "--query", "aabb"], nil, "-k must be at least 1, found 0"),
            (["search", idx, "--radius=-1", "--query", "aabb"], nil, "--radius must be at least 0, found -1"),
            (["search", idx, "--radius", "17", "--query", "aabb"], nil, "between 0 and 16"),
            (["search", idx, "--radius", "2", "--query", "aabbcc"], nil, "takes 4 hex digits, found 6"),
            (["create", dir.sub("x"), "--bits", "7"], nil, "between 8 and 1024, found 7"),
            (["create", dir.sub("x"), "--bits", "2000"], nil, "found 2000"),
            (["create", dir.sub("x"), "--bits", "64", "--substrings", "65"], nil, "found 65"),
            (["create", dir.sub("x"), "--bits", "100", "--substrings", "3"], nil, "at most 32"),
            (["create", idx, "--bits", "16"], nil, "already holds an index"),
            (["stat", dir.path], nil, "not a hashidx index"),
            (["search", dir.sub("missing"), "--radius", "1", "--query", "aabb"], nil, "not a hashidx index"),
        ]
        for (args, stdin, message) in cases {
            let r = try CLI.run(args, stdin: stdin)
            #expect(r.status != 0, "\(args) should fail")
            #expect(r.stderr.contains(message), "\(args): '\(r.stderr)' should contain '\(message)'")
        }
        let after = try Data(contentsOf: URL(fileURLWithPath: idx + "/data.mdb"))
        #expect(before == after, "failed commands must not change the index")
        let index = try HashIndex.open(at: idx, mode: .readOnly)
        #expect(try index.count == 2)
    }

    /// Nonsense training options are refused before any data is read, and a network too large
    /// for the machine before any memory is allocated (it used to abort the process).
    @Test func trainRefusesNonsenseOptionsAndOversizedNetworks() throws {
        let dir = TemporaryDirectory()
        try writeRandomVectors(dir.sub("x.npy"), rows: 200, columns: 6, seed: 3)
        let base = ["train", "--bits", "16", "--input", dir.sub("x.npy"), "--output", dir.sub("m.hxm")]
        let cases: [([String], String)] = [
            (["--method", "dh", "--learning-rate", "inf"], "--learning-rate must be a finite number above 0, found inf"),
            (["--method", "dh", "--learning-rate", "nan"], "--learning-rate must be a finite number above 0"),
            (["--method", "dh", "--learning-rate", "0"], "--learning-rate must be a finite number above 0"),
            (["--method", "dh", "--lambda1", "-1"], "--lambda1 must be a finite number ≥ 0, found -1"),
            (["--method", "sdh", "--alpha", "inf"], "--alpha must be a finite number ≥ 0"),
            (["--method", "center", "--quantization-weight", "-0.5"], "--quantization-weight must be a finite number ≥ 0"),
            (["--method", "pairwise", "--inner-product-scale", "0"], "--inner-product-scale must be a finite number above 0"),
            (["--method", "center", "--batch-size", "1"], "--batch-size must be at least 2 for center"),
            (["--method", "sdh"], "sdh needs --labels, one per training vector"),
            (["--method", "itq", "--epochs", "-2"], "--epochs must be at least 0"),
            (["--method", "dh", "--hidden", "0"], "--hidden must be positive sizes"),
            (["--method", "dh", "--hidden", "100000000"], "--hidden must be one or more layer sizes between 1 and"),
            (["--method", "dh", "--hidden", "4000000", "--epochs", "1"], "needs about"),
        ]
        for (args, message) in cases {
            let r = try CLI.run(base + args)
            #expect(r.status != 0 && !r.signaled, "\(args) should fail cleanly")
            #expect(r.stderr.contains(message), "\(args): '\(r.stderr)' should contain '\(message)'")
            #expect(!FileManager.default.fileExists(atPath: dir.sub("m.hxm")), "\(args) wrote a model")
        }
    }

    @Test func helpTextNamesEveryCommand() throws {
        let help = try CLI.run(["--help"])
        for sub in ["create", "add", "remove", "search", "knn", "stat", "verify", "compact", "upgrade", "demo", "train", "encode"] {
            #expect(help.stdout.contains(sub))
        }
        #expect(try CLI.run(["search", "--help"]).stdout.contains("inclusive"))
    }

    @Test func demoRunsAndAgreesWithAScan() throws {
        let r = try CLI.run(["demo", "--synthetic", "--count", "3000", "--bits", "64"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.components(separatedBy: "matches a full scan").count - 1 == 5)
    }

    @Test func trainEncodeAndSearchByVectorEndToEnd() throws {
        let dir = TemporaryDirectory()
        var rng = SeededRandom(seed: 21)
        var values = [Float]()
        for i in 0..<400 { for j in 0..<12 { values.append(Float((i % 5) * (j % 3)) + Float(Int(rng.next() % 1000)) / 1000) } }
        var npy = [UInt8]()
        for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { npy += $0 } }
        try Data(NpyWriter.file(descr: "<f4", shape: [400, 12], data: npy)).write(to: URL(fileURLWithPath: dir.sub("x.npy")))
        for method in ["lsh", "pcah", "itq", "dh"] {
            let model = dir.sub("\(method).model")
            let train = try CLI.run(["train", "--method", method, "--bits", "8", "--input", dir.sub("x.npy"), "--epochs", "2", "--hidden", "10", "--output", model])
            #expect(train.status == 0, "\(train.stderr)")
            let idx = dir.sub("idx-\(method)")
            #expect(try CLI.run(["create", idx, "--encoder", model]).status == 0)
            let add = try CLI.run(["add", idx, "--vectors", dir.sub("x.npy")])
            #expect(add.status == 0 && add.stderr.contains("added 400 new"), "\(add.stderr)")
            // Searching by vector equals searching by the codes `encode` prints.
            let encoded = try CLI.run(["encode", model, "--input", dir.sub("x.npy")])
            let hex = encoded.stdout.split(separator: "\n").prefix(10).map { String($0.split(separator: " ")[1]) }
            try (hex.joined(separator: "\n") + "\n").write(toFile: dir.sub("q.txt"), atomically: true, encoding: .utf8)
            try Data(NpyWriter.file(descr: "<f4", shape: [10, 12], data: Array(npy.prefix(10 * 12 * 4)))).write(to: URL(fileURLWithPath: dir.sub("q.npy")))
            let byVector = try CLI.run(["knn", idx, "-k", "3", "--vector-queries", dir.sub("q.npy")])
            let byCode = try CLI.run(["knn", idx, "-k", "3", "--queries", dir.sub("q.txt")])
            #expect(byVector.status == 0 && byVector.stdout.split(separator: "\n").filter { !$0.hasPrefix("#") } == byCode.stdout.split(separator: "\n").filter { !$0.hasPrefix("#") })
            #expect(byCode.stdout.contains("# query 9"))
        }
        // Bad inputs: sdh without labels, a vector file of the wrong dimension, an index without encoder.
        #expect(try CLI.run(["train", "--method", "sdh", "--bits", "8", "--input", dir.sub("x.npy"), "--output", dir.sub("s")]).stderr.contains("sdh needs --labels"))
        try Data(NpyWriter.file(descr: "<f4", shape: [1, 3], data: [UInt8](repeating: 0, count: 12))).write(to: URL(fileURLWithPath: dir.sub("bad.npy")))
        let wrong = try CLI.run(["add", dir.sub("idx-itq"), "--vectors", dir.sub("bad.npy")])
        #expect(wrong.status != 0 && wrong.stderr.contains("takes 12-dimensional vectors, found 3"), "\(wrong.stderr)")
        #expect(try CLI.run(["create", dir.sub("raw"), "--bits", "8"]).status == 0)
        #expect(try CLI.run(["add", dir.sub("raw"), "--vectors", dir.sub("x.npy")]).stderr.contains("has no encoder"))
    }

    @Test func evalFromCodesAndFromAnIndexAgree() throws {
        let dir = TemporaryDirectory()
        let db = dataset(bits: 16, count: 300, .clustered, seed: 4)
        let qs = queries(from: db, bits: 16, count: 20, seed: 4)
        try Data(NpyWriter.file(descr: "|u1", shape: [300, 2], data: db.flatMap(\.code.bytes))).write(to: URL(fileURLWithPath: dir.sub("db.npy")))
        try Data(NpyWriter.file(descr: "|u1", shape: [20, 2], data: qs.flatMap(\.bytes))).write(to: URL(fileURLWithPath: dir.sub("q.npy")))
        try ((0..<300).map { String($0 % 3) }.joined(separator: "\n") + "\n").write(toFile: dir.sub("dbl.txt"), atomically: true, encoding: .utf8)
        try ((0..<20).map { String($0 % 3) }.joined(separator: "\n") + "\n").write(toFile: dir.sub("ql.txt"), atomically: true, encoding: .utf8)
        #expect(try CLI.run(["create", dir.sub("idx"), "--bits", "16", "--substrings", "2"]).status == 0)
        #expect(try CLI.run(["add", dir.sub("idx"), dir.sub("db.npy"), "--input-format", "npy"]).status == 0)
        let common = ["--queries", dir.sub("q.npy"), "--database-labels", dir.sub("dbl.txt"), "--query-labels", dir.sub("ql.txt"), "--format", "json"]
        let fromCodes = try CLI.run(["eval", "--database", dir.sub("db.npy"), "--svg", dir.sub("pr.svg")] + common)
        let fromIndex = try CLI.run(["eval", "--index", dir.sub("idx")] + common)
        #expect(fromCodes.status == 0 && fromIndex.status == 0, "\(fromCodes.stderr) \(fromIndex.stderr)")
        let a = try JSONSerialization.jsonObject(with: Data(fromCodes.stdout.utf8)) as! [String: Any]
        let b = try JSONSerialization.jsonObject(with: Data(fromIndex.stdout.utf8)) as! [String: Any]
        for key in ["mean_average_precision_tie_aware", "mean_average_precision", "precision_at_radius", "empty_at_radius"] {
            #expect(abs((a[key] as! Double) - (b[key] as! Double)) < 1e-12, "\(key)")
        }
        #expect(try String(contentsOfFile: dir.sub("pr.svg"), encoding: .utf8).contains("<polyline"))
        let bad = try CLI.run(["eval", "--database", dir.sub("db.npy"), "--queries", dir.sub("q.npy"), "--database-labels", dir.sub("ql.txt"), "--query-labels", dir.sub("ql.txt")])
        #expect(bad.status != 0 && bad.stderr.contains("expected 300 labels, found 20"))
    }
}

/// The command as a pipeline citizen: export round trips, JSON documents and lines, models.
@Suite struct PipelineTests {
    @Test func exportRoundTripsThroughAddInEveryFormat() throws {
        let dir = TemporaryDirectory()
        let idx = dir.sub("idx")
        let data = dataset(bits: 20, count: 500, .clustered, seed: 51)
        #expect(try CLI.run(["create", idx, "--bits", "20"]).status == 0)
        #expect(try CLI.run(["add", idx, "-"], stdin: data.map { "\($0.id) \($0.code.hex)" }.joined(separator: "\n") + "\n").status == 0)
        #expect(try CLI.run(["remove", idx, "-"], stdin: "\(data[3].id)\n").status == 0)
        var expected = Oracle()
        expected.insert(data)
        expected.remove([data[3].id])
        for format in ["hex", "raw", "npy"] {
            let out = dir.sub("codes.\(format)"), ids = dir.sub("ids-\(format).txt")
            var args = ["export", idx, "--output", out]
            if format != "hex" { args += ["--ids", ids] }
            let e = try CLI.run(args)
            #expect(e.status == 0 && e.stderr.contains("exported 499 codes (\(format))"), "\(e.stderr)")
            let copy = dir.sub("copy-\(format)")
            #expect(try CLI.run(["create", copy, "--bits", "20"]).status == 0)
            var add = ["add", copy, out]
            if format != "hex" { add += ["--ids", ids] }
            let a = try CLI.run(add)
            #expect(a.status == 0, "\(format): \(a.stderr)")
            let index = try HashIndex.open(at: copy, mode: .readOnly)
            #expect(try index.count == 499)
            for (id, code) in expected.entries { #expect(try index.code(for: id) == code, "\(format): id \(id)") }
        }
        // Hex on standard output pipes straight into add.
        let hex = try CLI.run(["export", idx])
        let piped = dir.sub("piped")
        #expect(try CLI.run(["create", piped, "--bits", "20"]).status == 0)
        #expect(try CLI.run(["add", piped, "-"], stdin: hex.stdout).status == 0)
        #expect(try HashIndex.open(at: piped, mode: .readOnly).count == 499)
    }

    @Test func jsonIsOneDocumentAndJsonlOneObjectPerLine() throws {
        let dir = TemporaryDirectory()
        let idx = dir.sub("idx")
        #expect(try CLI.run(["create", idx, "--bits", "16"]).status == 0)
        #expect(try CLI.run(["add", idx, "-"], stdin: "1 aabb\n2 aabf\n3 0000\n").status == 0)
        try "aabb\naaff\n".write(toFile: dir.sub("q.txt"), atomically: true, encoding: .utf8)
        let doc = try CLI.run(["knn", idx, "-k", "2", "--queries", dir.sub("q.txt"), "--format", "json"])
        #expect(doc.status == 0)
        let parsed = try JSONSerialization.jsonObject(with: Data(doc.stdout.utf8)) as? [[String: Any]]
        #expect(parsed?.count == 2)
        let first = parsed?.first?["neighbors"] as? [[String: Any]]
        #expect(first?.map { $0["id"] as? Int } == [1, 2] && first?.map { $0["distance"] as? Int } == [0, 1])
        #expect((parsed?.first?["stats"] as? [String: Any])?["radius_reached"] != nil)
        let lines = try CLI.run(["knn", idx, "-k", "2", "--queries", dir.sub("q.txt"), "--format", "jsonl"])
        let objects = lines.stdout.split(separator: "\n").map { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(objects.count == 2 && objects.allSatisfy { $0 != nil })
        #expect(objects[1]?["query"] as? Int == 1)
        // stat's JSON is one document, with the encoder (none here).
        let stat = try CLI.run(["stat", idx, "--format", "json"])
        let s = try JSONSerialization.jsonObject(with: Data(stat.stdout.utf8)) as? [String: Any]
        #expect(s?["count"] as? Int == 3 && s?["encoder"] is NSNull)
    }

    @Test func trainEncodeAddKnnExportIsOnePipeline() throws {
        let dir = TemporaryDirectory()
        try writeRandomVectors(dir.sub("x.npy"), rows: 300, columns: 12, seed: 52)
        let model = dir.sub("model")
        #expect(try CLI.run(["train", "--method", "itq", "--bits", "8", "--input", dir.sub("x.npy"), "--output", model]).status == 0)
        let inspect = try CLI.run(["model", "inspect", model])
        #expect(inspect.status == 0 && inspect.stdout.contains("method           itq") && inspect.stdout.contains("input dimension  12"), "\(inspect.stdout)")
        let inspectJSON = try JSONSerialization.jsonObject(with: Data(try CLI.run(["model", "inspect", model, "--format", "json"]).stdout.utf8)) as? [String: Any]
        #expect(inspectJSON?["bits"] as? Int == 8 && inspectJSON?["dimension"] as? Int == 12)
        // encode --output x.npy writes npy (chosen by the name), which add reads by its magic.
        #expect(try CLI.run(["encode", model, "--input", dir.sub("x.npy"), "--output", dir.sub("codes.npy")]).status == 0)
        #expect(ReliabilityTests.bytes(dir.sub("codes.npy")).prefix(6) == Data([0x93] + Array("NUMPY".utf8)))
        let idx = dir.sub("idx")
        #expect(try CLI.run(["create", idx, "--encoder", model]).status == 0)
        #expect(try CLI.run(["add", idx, dir.sub("codes.npy")]).status == 0)
        let stat = try CLI.run(["stat", idx])
        #expect(stat.stdout.contains("encoder:") && stat.stdout.contains("method           itq"), "\(stat.stdout)")
        // encode's hex ('<row> <hex>') on standard output is a query file for knn.
        let hex = try CLI.run(["encode", model, "--input", dir.sub("x.npy")])
        let knn = try CLI.run(["knn", idx, "-k", "1", "--queries", "-", "--format", "jsonl"], stdin: hex.stdout)
        #expect(knn.status == 0, "\(knn.stderr)")
        let answers = knn.stdout.split(separator: "\n")
        #expect(answers.count == 300)
        // knn reads npy query codes too.
        let npyKnn = try CLI.run(["knn", idx, "-k", "1", "--queries", dir.sub("codes.npy"), "--format", "jsonl"])
        func neighbors(_ text: String) -> [String] {
            text.split(separator: "\n").map { line in
                let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
                let found = (o?["neighbors"] as? [[String: Any]] ?? []).map { "\($0["id"] ?? ""):\($0["distance"] ?? "")" }
                return "\(o?["query"] ?? "") \(found)"
            }
        }
        #expect(neighbors(npyKnn.stdout) == neighbors(knn.stdout))
        let export = try CLI.run(["export", idx])
        #expect(export.stdout.split(separator: "\n").count == 300)
        // Summaries for scripts: one JSON document on standard output; --quiet says nothing.
        func json(_ r: CLI.Output) -> [String: Any]? { try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any] }
        let train = try CLI.run(["train", "--method", "itq", "--bits", "8", "--epochs", "4", "--input", dir.sub("x.npy"), "--output", model, "--format", "json"])
        #expect((json(train)?["itq_losses"] as? [Double])?.count == 4 && json(train)?["vectors"] as? Int == 300, "\(train.stdout)")
        let encode = try CLI.run(["encode", model, "--input", dir.sub("x.npy"), "--output", dir.sub("again.npy"), "--format", "json"])
        #expect(json(encode)?["vectors"] as? Int == 300 && json(encode)?["output_format"] as? String == "npy", "\(encode.stdout)")
        #expect(try CLI.run(["encode", model, "--input", dir.sub("x.npy"), "--format", "json"]).status == 64, "JSON summary and codes cannot share standard output")
        let add = try CLI.run(["add", idx, dir.sub("again.npy"), "--format", "json"])
        #expect(json(add)?["replaced"] as? Int == 300 && json(add)?["count"] as? Int == 300, "\(add.stdout)")
        let quiet = try CLI.run(["add", idx, dir.sub("again.npy"), "--quiet"])
        #expect(quiet.status == 0 && quiet.stderr.isEmpty && quiet.stdout.isEmpty)
        // Progress: count, share and rate, on standard error, forced here (it is not a terminal).
        let many = (0..<70_000).map { "\($0) " + String(format: "%02x", $0 & 0xFF) }.joined(separator: "\n") + "\n"
        let small = dir.sub("small")
        #expect(try CLI.run(["create", small, "--bits", "8"]).status == 0)
        let shown = try CLI.run(["add", small, "-", "--progress", "--batch-size", "10000"], stdin: many)
        #expect(shown.status == 0 && shown.stderr.contains("checking standard input: 65536") && shown.stderr.contains("adding: 10000 of 70000 (14%)"),
                "\(shown.stderr)")
    }

    /// Help of every command: readable at 80 columns, and as recorded (HASHIDX_UPDATE_SNAPSHOTS=1
    /// rewrites the snapshots in Tests/HashIdxTests/Snapshots).
    @Test func helpTextIsReadableAndAsRecorded() throws {
        let commands = [[], ["demo"], ["create"], ["add"], ["remove"], ["search"], ["knn"], ["export"], ["stat"], ["verify"],
                        ["compact"], ["upgrade"], ["train"], ["encode"], ["model"], ["model", "inspect"], ["eval"]]
        let snapshots = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Snapshots")
        let update = ProcessInfo.processInfo.environment["HASHIDX_UPDATE_SNAPSHOTS"] == "1"
        for command in commands {
            let r = try CLI.run(command + ["--help"])
            #expect(r.status == 0)
            for line in r.stdout.split(separator: "\n") {
                #expect(line.count <= 80, "hashidx \(command.joined(separator: " ")) --help has a line of \(line.count) columns: \(line)")
            }
            let file = snapshots.appendingPathComponent((["hashidx"] + command).joined(separator: "-") + ".txt")
            if update {
                try FileManager.default.createDirectory(at: snapshots, withIntermediateDirectories: true)
                try r.stdout.write(to: file, atomically: true, encoding: .utf8)
            } else {
                let recorded = try String(contentsOf: file, encoding: .utf8)
                #expect(r.stdout == recorded, "hashidx \(command.joined(separator: " ")) --help changed; rerun with HASHIDX_UPDATE_SNAPSHOTS=1 and review the diff")
            }
        }
    }
}
