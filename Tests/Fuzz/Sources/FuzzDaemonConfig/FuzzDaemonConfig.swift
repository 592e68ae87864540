// The daemons' configuration files as kmsd and fhird read them at start:
// DaemonConfiguration.parse and what the daemon derives from it (server limits, TLS files); the
// same bytes as kmsd's `kms` section (KMSServerConfiguration, its on-behalf-of operations, the
// key service identity) and fhird's `fhir` section (FHIRServerConfiguration and its service
// settings), decoded as KeylakeCLI's KMSDaemonFile and FHIRDaemonFile do; and fhird's access
// policy file (AccessPolicy(json:)) with its checks.
//
// Input: one JSON document. Properties: a parsed configuration encodes and parses back to an
// equal configuration; errors are the module's, with a readable text.

import DataServer
import FuzzSupport
import KMS
import KMSServer
import KeylakeRPC
import KeylakeTransport

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The shapes KeylakeCLI decodes the sections with (KMSDaemonFile, FHIRDaemonFile).
private struct KMSSection: Codable { var kms: KMSServerConfiguration }
private struct FHIRSection: Codable { var fhir: FHIRServerConfiguration }

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = Data(bytes(data, size))

    do {
        let configuration = try DaemonConfiguration.parse(input, name: "fuzz.json")
        _ = configuration.serverLimits
        _ = configuration.tlsFiles
        let encoded: Data
        do {
            encoded = try JSONEncoder().encode(configuration)
        } catch {
            fatalError("a parsed configuration does not encode: \(error)")
        }
        do {
            let again = try DaemonConfiguration.parse(encoded, name: "again.json")
            require(again == configuration, "configuration round trip changed it")
        } catch {
            fatalError("an encoded configuration does not parse: \(error)")
        }
    } catch let error as TransportError {
        _ = "\(error)"
    } catch {
        fatalError("DaemonConfiguration.parse threw something other than a TransportError: \(error)")
    }

    do {
        let section = try JSONDecoder().decode(KMSSection.self, from: input).kms
        _ = try? section.onBehalfOfOperationsByService()
        _ = try? KeyServiceIdentity(region: section.region, accountID: section.accountId)
        _ = Set(section.servicePrincipals)
    } catch {
        _ = ConfigurationErrorText.describe(error)
    }

    do {
        let section = try JSONDecoder().decode(FHIRSection.self, from: input).fhir
        _ = section.settings
    } catch {
        _ = ConfigurationErrorText.describe(error)
    }

    if let policy = try? AccessPolicy(json: input) {
        for principal in policy.principals.keys.prefix(4) {
            for operation in ["ReadResource", "CreateResource", "DeleteFHIRDatastore", "SearchResources", ""] {
                _ = policy.allows(principal, operation)
            }
        }
        _ = try? policy.json()
    }
    return 0
}

// MARK: - Seeds

@_cdecl("LLVMFuzzerInitialize")
public func initialize(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>
) -> CInt {
    makeCorpusIfAsked(argc, argv, seeds: seeds)
    return 0
}

/// The configuration files the repository ships (deploy/config) and the ones `keylake dev up`
/// writes: DevHome encodes DaemonConfiguration with these options, then adds the `kms` and `fhir`
/// sections and writes the access policy with AccessPolicy.json().
private func seeds() throws -> [Seed] {
    var seeds: [Seed] = []
    let directory = "deploy/config"
    for name in try FileManager.default.contentsOfDirectory(atPath: directory).sorted() where name.hasSuffix(".json") {
        let data = try Data(contentsOf: URL(fileURLWithPath: "\(directory)/\(name)"))
        seeds.append(Seed("deploy-\(name)", Array(data)))
    }

    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    func devHome(_ kind: String, port: Int) -> DaemonConfiguration {
        DaemonConfiguration(
            listen: .init(host: "127.0.0.1", port: port),
            tls: .init(certificate: "pki/\(kind).pem", privateKey: "pki/\(kind)-key.pem", trustRoots: "pki/ca.pem"),
            dataDirectory: "data/\(kind)")
    }
    struct KMSDaemonFile: Codable {
        var listen: DaemonConfiguration.Listen
        var tls: DaemonConfiguration.TLS
        var dataDirectory: String?
        var kms: KMSServerConfiguration
    }
    struct FHIRDaemonFile: Codable {
        var listen: DaemonConfiguration.Listen
        var tls: DaemonConfiguration.TLS
        var dataDirectory: String?
        var fhir: FHIRServerConfiguration
    }
    let kmsd = devHome("kmsd", port: 24451)
    let fhird = devHome("fhird", port: 29422)
    seeds.append(Seed("devhome-kmsd-bare.json", Array(try encoder.encode(kmsd))))
    var kmsSection = KMSServerConfiguration(
        region: "us-east-1", accountId: "111122223333", rootKeyFile: "kmsd-root.key", servicePrincipals: ["healthlake.amazonaws.com"])
    seeds.append(Seed("devhome-kmsd.json", Array(try encoder.encode(
        KMSDaemonFile(listen: kmsd.listen, tls: kmsd.tls, dataDirectory: kmsd.dataDirectory, kms: kmsSection)))))
    kmsSection.onBehalfOfOperations = ["healthlake.amazonaws.com": ["DescribeKey", "Decrypt", "GenerateDataKey", "CreateGrant"]]
    kmsSection.maintenanceIntervalSeconds = 60
    seeds.append(Seed("devhome-kmsd-on-behalf-of.json", Array(try encoder.encode(
        KMSDaemonFile(listen: kmsd.listen, tls: kmsd.tls, dataDirectory: kmsd.dataDirectory, kms: kmsSection)))))
    let fhirSection = FHIRServerConfiguration(
        region: "us-east-1", accountId: "111122223333", servicePrincipal: "healthlake.amazonaws.com",
        kmsd: .init(host: "127.0.0.1", port: 24451),
        client: .init(certificate: "pki/fhird.pem", privateKey: "pki/fhird-key.pem", trustRoots: "pki/ca.pem"),
        accessPolicyFile: "fhird-access-policy.json")
    seeds.append(Seed("devhome-fhird.json", Array(try encoder.encode(
        FHIRDaemonFile(listen: fhird.listen, tls: fhird.tls, dataDirectory: fhird.dataDirectory, fhir: fhirSection)))))
    let policy = AccessPolicy(principals: [
        "arn:aws:iam::111122223333:root": ["*"],
        "arn:aws:iam::111122223333:role/HealthLakeFullAccessRole": ["*"],
        "arn:aws:iam::111122223333:role/Reader": ["ReadResource", "VReadResource", "SearchResources", "healthlake:Describe*"],
    ])
    seeds.append(Seed("devhome-fhird-access-policy.json", Array(try policy.json())))
    return seeds
}
