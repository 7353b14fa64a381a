import Testing
import HashEncoders
import HashIdxVectors

/// The training options every interface shares: JSON decoding and the checks made before any
/// data is read.
@Suite struct TrainingOptionsTests {
    @Test func jsonOptionsDecodeAndUnknownKeysAreRefused() throws {
        let o = try TrainingOptions.fromJSON(#"{"epochs": 3, "hidden": [32, 16], "learning_rate": 0.01, "optimizer": "adam", "seed": 9, "paper_recipe": true}"#)
        #expect(o.epochs == 3 && o.hidden == [32, 16] && o.learningRate == 0.01 && o.optimizer == .adam && o.seed == 9 && o.paperRecipe)
        #expect(try TrainingOptions.fromJSON("") == TrainingOptions())
        #expect(try TrainingOptions.fromJSON("  {} ") == TrainingOptions())
        let bad: [(String, String)] = [
            (#"{"epoch": 3}"#, "unknown training option 'epoch'"),
            (#"{"epochs": "three"}"#, "'epochs' must be"),
            (#"{"hidden": 32}"#, "'hidden' must be"),
            (#"{"optimizer": "sgd"}"#, "optimizer"),
            ("[1, 2]", "must be a JSON object"),
            ("{epochs: 3", "must be a JSON object"),
        ]
        for (text, message) in bad {
            do {
                _ = try TrainingOptions.fromJSON(text)
                Issue.record("\(text) was accepted")
            } catch {
                #expect(error.description.contains(message), "\(text): \(error)")
            }
        }
    }

    @Test(arguments: HashingMethod.allCases)
    func nonsenseIsRefusedBeforeTraining(_ method: HashingMethod) {
        var rates = TrainingOptions(); rates.learningRate = .infinity
        var negative = TrainingOptions(); negative.lambda1 = -1
        var nanWeight = TrainingOptions(); nanWeight.quantizationWeight = .nan
        for o in [rates, negative, nanWeight] {
            #expect(throws: EncoderError.self) { try o.validate(method: method, bits: 16, hasLabels: true) }
        }
        #expect(throws: EncoderError.self) { try TrainingOptions().validate(method: method, bits: 7, hasLabels: true) }
        #expect(throws: Never.self) { try TrainingOptions().validate(method: method, bits: 16, hasLabels: true) }
        if method.needsLabels {
            #expect(throws: EncoderError.self) { try TrainingOptions().validate(method: method, bits: 16, hasLabels: false) }
        }
    }
}
