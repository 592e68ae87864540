/// The ``KeyDirectory`` does not hold something a call needs.
struct KeyDirectoryMiss: Error {}
