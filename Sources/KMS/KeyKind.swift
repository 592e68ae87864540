/// Who a key belongs to.
public enum KeyKind: String, Hashable, Sendable, CaseIterable {
    /// Created, seen, managed and audited by a customer.
    case customerManaged = "CUSTOMER_MANAGED"
    /// The "AWS owned key": created and used only for one registered service principal; never
    /// listed, managed or audited by customers.
    case serviceOwned = "SERVICE_OWNED"
}
