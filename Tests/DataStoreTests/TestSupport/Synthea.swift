import Foundation

/// The Synthea fixture (10 patients, bulk-export NDJSON) copied into the test bundle.
enum Synthea {
    /// Every resource file's base name, e.g. `Patient`.
    static let resourceFiles = [
        "AllergyIntolerance", "Condition", "Device", "DocumentReference", "Encounter", "Immunization",
        "Location", "MedicationRequest", "Organization", "Patient", "Practitioner", "PractitionerRole",
        "Procedure",
    ]

    /// The fixture directory inside the test bundle.
    static var directory: URL {
        Bundle.module.resourceURL!.appendingPathComponent("synthea-10")
    }

    /// The lines (one resource each, as bytes) of `<type>.000.ndjson`.
    static func lines(_ type: String) throws -> [[UInt8]] {
        let data = try Data(contentsOf: self.directory.appendingPathComponent("\(type).000.ndjson"))
        return data.split(separator: UInt8(ascii: "\n")).map { Array($0) }.filter { !$0.isEmpty }
    }

    /// Every line of every file.
    static func allLines() throws -> [[UInt8]] {
        try self.resourceFiles.flatMap { try self.lines($0) }
    }

    /// A cached parse, as `JSONSerialization` sees it, for independent checks.
    static func foundationObjects(_ type: String) throws -> [[String: Any]] {
        try self.lines(type).map { try JSONSerialization.jsonObject(with: Data($0)) as! [String: Any] }
    }
}
