import ArgumentParser
import KMS

extension KMSDCommand {
    /// `kmsd rotate-root-key`: moves a stopped kmsd's key store to a new root key
    /// (``KMS/KeyStore/rotateRootKey(path:from:to:)``): one transaction, so an interruption leaves
    /// the store under the old key. It takes the store's lock file (`<store>.lock`) first and
    /// refuses, changing nothing, while a kmsd has the store open.
    struct RotateRootKey: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rotate-root-key",
            abstract: "Re-wrap all key material and re-seal the audit trail under a new root key, in one transaction (stop kmsd first; refused while a kmsd has the store open).")

        @Option(name: .long, help: "The key store: kms.sqlite in kmsd's dataDirectory.")
        var store: String

        @Option(name: .long, help: "The root key file the store uses now.")
        var oldRootKey: String

        @Option(name: .long, help: "The new root key file (make it with `kmsd init --root-key FILE`).")
        var newRootKey: String

        func run() async throws {
            let summary: RootKeyRotationSummary
            do {
                let old = try RootKey.load(from: self.oldRootKey)
                let new = try RootKey.load(from: self.newRootKey)
                summary = try KeyStore.rotateRootKey(path: self.store, from: old, to: new)
            } catch {
                throw CLIError("root key not rotated; the store is unchanged: \(error)")
            }
            print(
                "rotated: \(summary.materialVersions) key material versions re-wrapped, \(summary.auditEvents) audit events re-sealed; "
                    + "point kmsd's rootKeyFile at \(self.newRootKey); keep \(self.oldRootKey) only as long as backups made before the rotation")
        }
    }
}
