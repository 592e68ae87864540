/// The order of search results: by `meta.lastUpdated`, then by id to break ties.
///
/// The default (no `_sort`) is ``ascending``, oldest change first; `_sort=-_lastUpdated` is
/// ``descending``. Paging is keyset paging over this order, so a page token stays valid while
/// resources are written.
public enum SearchSort: UInt8, Hashable, Sendable {
    /// `_sort=_lastUpdated` (the default): oldest first, ties by ascending id.
    case ascending = 0
    /// `_sort=-_lastUpdated`: newest first, ties by descending id.
    case descending = 1
}
