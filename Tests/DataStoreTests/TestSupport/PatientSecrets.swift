import Foundation

/// The plaintext values that must never reach disk or tokens: every Synthea patient's family
/// and given names, SSN-like identifiers and birth dates.
enum PatientSecrets {
    static func load() throws -> [String] {
        var secrets: Set<String> = []
        for patient in try Synthea.foundationObjects("Patient") {
            for name in patient["name"] as? [[String: Any]] ?? [] {
                if let family = name["family"] as? String { secrets.insert(family) }
                for given in name["given"] as? [String] ?? [] { secrets.insert(given) }
            }
            for identifier in patient["identifier"] as? [[String: Any]] ?? []
            where identifier["system"] as? String == "http://hl7.org/fhir/sid/us-ssn" {
                secrets.insert(identifier["value"] as! String)
            }
            if let birthDate = patient["birthDate"] as? String { secrets.insert(birthDate) }
        }
        return secrets.sorted()
    }
}
