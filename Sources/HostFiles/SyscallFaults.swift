import Synchronization

/// Error injection for tests: makes chosen system calls of `Sys` fail with a chosen errno, as
/// a disk that fills up or a device that reports EIO would, without either.
///
/// A process-wide table of rules, each naming a call (`"write"`, `"fdatasync"`, `"syncfs"`, …,
/// as in `FlowStorageError.call`), a substring the path must contain, and which matching calls
/// fail: the nth only, or every one from the nth on. `Sys` consults the table before each call;
/// while it is empty (always, in production: nothing outside tests adds a rule) that costs one
/// atomic load. Tests run in parallel in one process, so a rule names a path under the
/// test's own temporary directory and touches no other test.
///
/// ```swift
/// let rule = SyscallFaults.inject(EIO, on: "fdatasync", pathContaining: root + "/journal/")
/// defer { SyscallFaults.remove(rule) }
/// ```
/// (NIOFileSystem's `Internal/System Calls/Mocking.swift` is the model: there the mock is
/// task-local; here the store's callers are synchronous, on any thread.)
@_spi(Testing) public enum SyscallFaults {
    /// Which of the matching calls fail.
    public enum Occurrence: Sendable, Equatable {
        /// Only the nth matching call (1-based).
        case nth(Int)
        /// Every matching call from the nth on.
        case fromNth(Int)
        /// Every matching call.
        public static let every = Occurrence.fromNth(1)
    }

    /// A rule in the table, to remove it and to ask how often it fired.
    public struct Rule: Sendable, Hashable {
        let id: Int
    }

    private struct Entry {
        var id: Int
        var call: String
        var path: String
        var errno: Int32
        var occurrence: Occurrence
        var seen = 0
        var fired = 0
    }

    private static let count = Atomic<Int>(0)
    private static let table = Mutex<(next: Int, entries: [Entry])>((0, []))

    /// Adds a rule: `call` on a path containing `pathContaining` fails with `errno`.
    @discardableResult
    public static func inject(_ errno: Int32, on call: String, pathContaining: String, _ occurrence: Occurrence = .every) -> Rule {
        table.withLock { state in
            state.next += 1
            state.entries.append(Entry(id: state.next, call: call, path: pathContaining, errno: errno, occurrence: occurrence))
            count.store(state.entries.count, ordering: .releasing)
            return Rule(id: state.next)
        }
    }

    public static func remove(_ rule: Rule) {
        table.withLock { state in
            state.entries.removeAll { $0.id == rule.id }
            count.store(state.entries.count, ordering: .releasing)
        }
    }

    /// How many calls the rule has failed so far.
    public static func fired(_ rule: Rule) -> Int {
        table.withLock { state in state.entries.first { $0.id == rule.id }?.fired ?? 0 }
    }

    /// Runs `body` with one rule in force, removed on every path.
    public static func with<T>(_ errno: Int32, on call: String, pathContaining: String, _ occurrence: Occurrence = .every,
                               _ body: (Rule) throws -> T) rethrows -> T {
        let rule = inject(errno, on: call, pathContaining: pathContaining, occurrence)
        defer { remove(rule) }
        return try body(rule)
    }

    /// The errno `call` on `path` is to fail with, or nil to make the call. Consulted by `Sys`.
    @inline(__always)
    static func check(_ call: String, _ path: String) -> Int32? {
        guard count.load(ordering: .acquiring) > 0 else { return nil }
        return slowCheck(call, path)
    }

    private static func slowCheck(_ call: String, _ path: String) -> Int32? {
        table.withLock { state -> Int32? in
            var result: Int32?
            for i in state.entries.indices where state.entries[i].call == call && path.contains(state.entries[i].path) {
                state.entries[i].seen += 1
                let seen = state.entries[i].seen
                let fails: Bool
                switch state.entries[i].occurrence {
                case .nth(let n): fails = seen == n
                case .fromNth(let n): fails = seen >= n
                }
                if fails && result == nil {
                    state.entries[i].fired += 1
                    result = state.entries[i].errno
                }
            }
            return result
        }
    }
}
