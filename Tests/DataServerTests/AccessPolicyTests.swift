import DataServer
import Foundation
import Testing

@Suite("fhird access policy")
struct AccessPolicyTests {
    @Test("exact names, healthlake: prefix, trailing wildcards; unlisted principals get nothing")
    func matching() throws {
        let policy = try AccessPolicy(
            json: Data(
                #"{"principals":{"reader":["ReadResource","healthlake:SearchResources","Describe*"],"admin":["*"]}}"#.utf8))
        #expect(policy.allows("reader", "ReadResource"))
        #expect(policy.allows("reader", "SearchResources"))
        #expect(policy.allows("reader", "DescribeFHIRDatastore"))
        #expect(!policy.allows("reader", "CreateResource"))
        #expect(policy.allows("admin", "DeleteFHIRDatastore"))
        #expect(!policy.allows("stranger", "ReadResource"))
        let roundTrip = try AccessPolicy(json: policy.json())
        #expect(roundTrip == policy)
    }
}
