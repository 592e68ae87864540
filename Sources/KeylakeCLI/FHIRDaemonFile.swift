import DataServer
import KeylakeRPC
import Foundation

/// The `fhir` section of fhird's configuration file, read beside the common `DaemonConfiguration`.
struct FHIRDaemonFile: Codable {
    var fhir: FHIRServerConfiguration

    /// Reads the section, resolving relative paths (access policy, client identity) against the
    /// file's directory.
    static func load(from path: String) throws -> FHIRServerConfiguration {
        let file: FHIRDaemonFile
        do {
            let data = Data(try InputFile.read(path, what: "configuration file", maximumBytes: DaemonConfiguration.maximumFileBytes))
            file = try JSONDecoder().decode(FHIRDaemonFile.self, from: data)
        } catch let error as InputFile.Failure {
            throw CLIError("\(error)")
        } catch {
            throw CLIError("\(path): the \"fhir\" section is missing or invalid: \(ConfigurationErrorText.describe(error))")
        }
        let base = URL(fileURLWithPath: path).deletingLastPathComponent()
        func resolve(_ value: String) -> String {
            value.hasPrefix("/") ? value : base.appendingPathComponent(value).path
        }
        var section = file.fhir
        section.accessPolicyFile = resolve(section.accessPolicyFile)
        if var client = section.client {
            client.certificate = resolve(client.certificate)
            client.privateKey = resolve(client.privateKey)
            client.trustRoots = resolve(client.trustRoots)
            section.client = client
        }
        return section
    }
}
