import ArgumentParser
import Foundation
import GRPCCore
import KeylakeProto
import KeylakeTransport
import SwiftProtobuf

/// `keylake fhir …`: fhird's data plane, FHIR R4 REST interactions over the Keylake RPC.
///
/// Input resources and Bundles come from `--file FILE` or standard input; output is FHIR JSON on
/// standard output: the resource as stored (create, read, vread, update), a Bundle (history,
/// search, bundle), a CapabilityStatement, or an OperationOutcome (delete). A failed call prints
/// the error name and fhird's OperationOutcome on standard error and exits with status 254.
struct FHIRCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fhir",
        abstract: "Create, read, update, delete and search FHIR resources (fhird's data plane).",
        subcommands: [
            FHIRCreate.self, FHIRRead.self, FHIRVRead.self, FHIRUpdate.self, FHIRDelete.self, FHIRHistory.self, FHIRSearch.self,
            FHIRBundle.self, FHIRCapabilities.self,
        ])
}

/// `--resource-type TYPE --id ID`.
struct FHIRResourceAddress: ParsableArguments {
    @Option(help: "The resource type, e.g. Patient.") var resourceType: String
    @Option(help: "The resource id.") var id: String
}

struct FHIRCreate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create", abstract: "Create a resource (the server assigns its id); prints it as stored.")
    @OptionGroup var options: FHIRCLIOptions
    @Option var datastoreId: String
    @Option(help: "Resource JSON file; standard input when omitted or -.") var file: String?
    func run() async throws {
        let resource = try FHIRCLIInput.read(self.file)
        let request = Keylake_Healthlake_V1_CreateResourceRequest.with { $0.datastoreID = self.datastoreId; $0.resource = resource }
        let response = try await self.options.call("CreateResource") { try await $0.createResource(request, options: $1) }
        FHIRCLIInput.write(response.resource)
    }
}

struct FHIRRead: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "read", abstract: "Read the current version of a resource.")
    @OptionGroup var options: FHIRCLIOptions
    @Option var datastoreId: String
    @OptionGroup var address: FHIRResourceAddress
    func run() async throws {
        let request = Keylake_Healthlake_V1_ReadResourceRequest.with {
            $0.datastoreID = self.datastoreId
            $0.resourceType = self.address.resourceType
            $0.id = self.address.id
        }
        let response = try await self.options.call("ReadResource") { try await $0.readResource(request, options: $1) }
        FHIRCLIInput.write(response.resource)
    }
}

struct FHIRVRead: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "vread", abstract: "Read one version of a resource.")
    @OptionGroup var options: FHIRCLIOptions
    @Option var datastoreId: String
    @OptionGroup var address: FHIRResourceAddress
    @Option(help: "The version id (meta.versionId).") var versionId: String
    func run() async throws {
        let request = Keylake_Healthlake_V1_VReadResourceRequest.with {
            $0.datastoreID = self.datastoreId
            $0.resourceType = self.address.resourceType
            $0.id = self.address.id
            $0.versionID = self.versionId
        }
        let response = try await self.options.call("VReadResource") { try await $0.vReadResource(request, options: $1) }
        FHIRCLIInput.write(response.resource)
    }
}

struct FHIRUpdate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "update", abstract: "Update a resource, or create it with this id; prints it as stored.")
    @OptionGroup var options: FHIRCLIOptions
    @Option var datastoreId: String
    @OptionGroup var address: FHIRResourceAddress
    @Option(help: "Resource JSON file; standard input when omitted or -.") var file: String?
    @Option(help: "If-Match: succeed only if this is the current version (3 or W/\"3\").") var ifMatch: String?
    func run() async throws {
        let resource = try FHIRCLIInput.read(self.file)
        let request = Keylake_Healthlake_V1_UpdateResourceRequest.with {
            $0.datastoreID = self.datastoreId
            $0.resourceType = self.address.resourceType
            $0.id = self.address.id
            $0.resource = resource
            $0.ifMatchVersionID = self.ifMatch ?? ""
        }
        let response = try await self.options.call("UpdateResource") { try await $0.updateResource(request, options: $1) }
        FHIRCLIInput.write(response.resource)
    }
}

struct FHIRDelete: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete", abstract: "Delete a resource (its history is kept); prints an OperationOutcome.")
    @OptionGroup var options: FHIRCLIOptions
    @Option var datastoreId: String
    @OptionGroup var address: FHIRResourceAddress
    func run() async throws {
        let request = Keylake_Healthlake_V1_DeleteResourceRequest.with {
            $0.datastoreID = self.datastoreId
            $0.resourceType = self.address.resourceType
            $0.id = self.address.id
        }
        let response = try await self.options.call("DeleteResource") { try await $0.deleteResource(request, options: $1) }
        let target = "\(self.address.resourceType)/\(self.address.id)"
        let diagnostics =
            response.versionID.isEmpty
            ? "\(target) did not exist or was already deleted; nothing changed"
            : "deleted \(target); the deletion is version \(response.versionID)"
        FHIRCLIInput.write(FHIRCLIBundle.informationOutcome(diagnostics))
    }
}

struct FHIRHistory: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history",
        abstract: "Versions, newest first, as a FHIR history Bundle: of a resource, of a type, or of the whole datastore.")
    @OptionGroup var options: FHIRCLIOptions
    @Option var datastoreId: String
    @Option(help: "Only this type (required with --id).") var resourceType: String?
    @Option(help: "Only this resource.") var id: String?
    @Option(help: "At most this many versions (default 100).") var count: Int32 = 0
    func validate() throws {
        if self.id != nil, self.resourceType == nil { throw ValidationError("--id needs --resource-type") }
    }
    func run() async throws {
        let request = Keylake_Healthlake_V1_ResourceHistoryRequest.with {
            $0.datastoreID = self.datastoreId
            $0.resourceType = self.resourceType ?? ""
            $0.id = self.id ?? ""
            $0.count = self.count
        }
        let response = try await self.options.call("ResourceHistory") { try await $0.resourceHistory(request, options: $1) }
        FHIRCLIInput.write(FHIRCLIBundle.history(response.entries))
    }
}

struct FHIRSearch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search", abstract: "Search one resource type; prints a FHIR searchset Bundle (its next link holds the page token).")
    @OptionGroup var options: FHIRCLIOptions
    @Option var datastoreId: String
    @Option(help: "The resource type, e.g. Patient.") var resourceType: String
    @Option(name: .customLong("param"), help: "Search parameter name=value, e.g. family=Smith or birthdate=ge1950-01-01; repeatable.")
    var parameters: [String] = []
    @Option(help: "Page size (default 100, at most 100).") var count: Int32 = 0
    @Option(help: "Page token from a previous page's next link.") var pageToken: String = ""
    @Flag(help: "Ignore unknown search parameters instead of failing (FHIR Prefer: handling=lenient).") var lenient = false
    func run() async throws {
        var parameters: [Keylake_Healthlake_V1_SearchParameter] = []
        for pair in self.parameters {
            guard let equals = pair.firstIndex(of: "="), equals != pair.startIndex else {
                throw ValidationError("--param expects name=value, got \"\(pair.prefix(80))\"")
            }
            let name = String(pair[..<equals])
            let value = String(pair[pair.index(after: equals)...])
            parameters.append(.with { $0.name = name; $0.value = value })
        }
        let request = Keylake_Healthlake_V1_SearchResourcesRequest.with {
            $0.datastoreID = self.datastoreId
            $0.resourceType = self.resourceType
            $0.parameters = parameters
            $0.count = self.count
            $0.pageToken = self.pageToken
            $0.lenient = self.lenient
        }
        let response = try await self.options.call("SearchResources") { try await $0.searchResources(request, options: $1) }
        FHIRCLIInput.write(response.bundle)
    }
}

struct FHIRBundle: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bundle",
        abstract: "Process a batch or transaction Bundle; prints the batch-response or transaction-response Bundle.")
    @OptionGroup var options: FHIRCLIOptions
    @Option var datastoreId: String
    @Option(help: "Bundle JSON file; standard input when omitted or -.") var file: String?
    func run() async throws {
        let bundle = try FHIRCLIInput.read(self.file)
        let request = Keylake_Healthlake_V1_ProcessBundleRequest.with { $0.datastoreID = self.datastoreId; $0.bundle = bundle }
        let response = try await self.options.call("ProcessBundle") { try await $0.processBundle(request, options: $1) }
        FHIRCLIInput.write(response.bundle)
    }
}

struct FHIRCapabilities: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "capabilities", abstract: "Print fhird's CapabilityStatement (types, interactions, search parameters).")
    @OptionGroup var options: FHIRCLIOptions
    func run() async throws {
        let response = try await self.options.call("Capabilities") { try await $0.capabilities(.init(), options: $1) }
        FHIRCLIInput.write(response.capabilityStatement)
    }
}
