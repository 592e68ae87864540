/// Which of a datastore's keys protects an encryption layer.
public enum KeyLayer: UInt8, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    /// The service-owned key ("AWS owned key"): always present, invisible to customers.
    case serviceOwned = 1
    /// The customer-managed key: present when the datastore was created with one.
    case customerManaged = 2

    /// `service-owned` or `customer-managed`.
    public var description: String {
        switch self {
        case .serviceOwned: "service-owned"
        case .customerManaged: "customer-managed"
        }
    }

    /// The layers of a datastore, outermost first: `[.customerManaged, .serviceOwned]` with a
    /// customer-managed key, else `[.serviceOwned]`.
    ///
    /// The customer's layer is the outer one ("a customer-managed key adds a second layer over
    /// the service-owned layer"): the inner, service-owned layer then has the same form in every
    /// datastore, and the customer's key is the first gate a read passes. Both data keys are
    /// needed either way, so the order does not change what revoking either key does.
    public static func layers(customerManaged: Bool) -> [KeyLayer] {
        customerManaged ? [.customerManaged, .serviceOwned] : [.serviceOwned]
    }
}
