import Testing

@testable import KMS

@Suite("KMSError")
struct KMSErrorTests {
    @Test("every code is named after its AWS exception and round-trips")
    func exceptionNames() {
        let expected = [
            "NotFoundException", "DisabledException", "KMSInvalidStateException", "InvalidCiphertextException",
            "IncorrectKeyException", "AccessDeniedException", "InvalidKeyUsageException",
            "MalformedPolicyDocumentException", "ValidationException", "InvalidGrantTokenException",
            "InvalidGrantIdException", "AlreadyExistsException", "InvalidAliasNameException", "TagException",
            "LimitExceededException", "KMSInternalException", "DependencyTimeoutException",
            "UnsupportedOperationException", "InvalidMarkerException",
        ]
        #expect(Set(KMSError.Code.allCodes.map(\.exceptionName)) == Set(expected))
        #expect(KMSError.Code.allCodes.count == expected.count)
        for name in expected {
            #expect(KMSError.Code(exceptionName: name)?.exceptionName == name)
        }
        #expect(KMSError.Code(exceptionName: "NoSuchException") == nil)
        #expect(KMSError.Code.dependencyTimeout.description == "DependencyTimeoutException")
    }

    @Test("errors compare by code and describe themselves with the exception name")
    func equalityAndDescription() {
        let a = KMSError.notFound("key 1 not found")
        let b = KMSError.notFound("alias/x not found")
        #expect(a == b)
        #expect(a != KMSError.disabled("key 1 is disabled"))
        #expect(a.description == "NotFoundException: key 1 not found")
        #expect(a.file.hasSuffix("KMSErrorTests.swift"))
    }
}
