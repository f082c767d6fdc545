#if canImport(Glibc)
import Glibc
#endif
import DeviceFlow

/// Counters shared between the processes of a host through `<root>/metrics/`, so that every
/// worker's counts add up and survive the worker's death.
///
/// Each process that counts claims one page file, `metrics/slot-<n>`, by taking an exclusive
/// flock on it without waiting, and keeps it for its life. The kernel drops the claim when the
/// process dies (SIGKILL included), and the next process to start takes the slot over and
/// continues from its values, so the sum over all pages never goes down: what Prometheus
/// expects of a counter. The page is mapped shared, so counting is a store into the page cache
/// with no system call; a reader (the metrics endpoint) preads every page and adds them up.
/// Only the claiming process writes a page, so no increment is lost; a reader may see a value
/// a few increments old, never a torn one (aligned 8-byte stores).
///
/// A page's first word names its layout; a page of another layout (an older version) is reset
/// when claimed and skipped when read.
public final class CounterPage: @unchecked Sendable {
    public let path: String
    /// Number of counters after the layout word.
    public let count: Int
    private let fd: Int32
    private let base: UnsafeMutablePointer<UInt64>

    private init(path: String, fd: Int32, base: UnsafeMutablePointer<UInt64>, count: Int) {
        self.path = path
        self.fd = fd
        self.base = base
        self.count = count
    }

    deinit {
        Sys.unmap(base, size: (count + 1) * 8)
        Sys.close(fd)
    }

    /// Counter `index` (0-based, after the layout word).
    public subscript(index: Int) -> UInt64 {
        get { base[index + 1] }
        set { base[index + 1] = newValue }
    }

    public func add(_ index: Int, _ amount: UInt64 = 1) {
        guard index >= 0 && index < count else { return }
        base[index + 1] &+= amount
    }

    static func directory(_ stateRoot: String) -> String { "\(stateRoot)/metrics" }

    /// Claims the first free `slot-<n>` page, creating it if every existing one is held.
    public static func claimSlot(in stateRoot: String, layout: UInt64, count: Int) throws -> CounterPage {
        let dir = directory(stateRoot)
        try Sys.mkdir(dir)
        var n = 0
        while true {
            do {
                if let page = try claim(path: "\(dir)/slot-\(n)", layout: layout, count: count) { return page }
            } catch let error as FlowStorageError where error.kind != .noSpace {
                // Not ours (say, left by a command run as root): leave it, try the next.
            }
            n += 1
            if n > 4096 { throw FlowStorageError(.io, "no free metrics slot in \(dir)") }
        }
    }

    /// Claims the page with this name, or nil while another process holds it.
    public static func claim(named name: String, in stateRoot: String, layout: UInt64, count: Int) throws -> CounterPage? {
        let dir = directory(stateRoot)
        try Sys.mkdir(dir)
        return try claim(path: "\(dir)/\(name)", layout: layout, count: count)
    }

    private static func claim(path: String, layout: UInt64, count: Int) throws -> CounterPage? {
        let fd = try Sys.open(path, O_RDWR | O_CREAT, 0o600)
        do {
            guard try Sys.lockExclusive(fd, path, wait: false) else { Sys.close(fd); return nil }
            let size = (count + 1) * 8
            // Size the file by writing zeros (not ftruncate): on a full disk this fails now,
            // rather than with SIGBUS on the first store into a page with no block behind it.
            let st = try Sys.fstat(fd, path)
            if Int(st.st_size) < size {
                try Sys.pwriteAll(fd, path, [UInt8](repeating: 0, count: size - Int(st.st_size)), offset: off_t(st.st_size))
            }
            let raw = try Sys.mapShared(fd, path, size: size)
            let base = raw.bindMemory(to: UInt64.self, capacity: count + 1)
            if base[0] != layout {
                for i in 1...count { base[i] = 0 }
                base[0] = layout
            }
            return CounterPage(path: path, fd: fd, base: base, count: count)
        } catch {
            Sys.close(fd)
            throw error
        }
    }

    /// Every `slot-*` page of this layout, as arrays of `count` values (held or not: a dead
    /// process's counts still count).
    public static func readSlots(in stateRoot: String, layout: UInt64, count: Int) -> [[UInt64]] {
        let dir = directory(stateRoot)
        guard let names = try? Sys.listDirectory(dir) else { return [] }
        return names.filter { $0.hasPrefix("slot-") }.sorted().compactMap { read(path: "\(dir)/\($0)", layout: layout, count: count) }
    }

    /// The named page's values, or nil if it does not exist or has another layout.
    public static func read(named name: String, in stateRoot: String, layout: UInt64, count: Int) -> [UInt64]? {
        read(path: "\(directory(stateRoot))/\(name)", layout: layout, count: count)
    }

    private static func read(path: String, layout: UInt64, count: Int) -> [UInt64]? {
        guard let fd = try? Sys.openIfExists(path, O_RDONLY) else { return nil }
        return Sys.closeAfter(fd) { fd -> [UInt64]? in
            guard let bytes = try? Sys.pread(fd, path, count: (count + 1) * 8, offset: 0), bytes.count == (count + 1) * 8 else { return nil }
            let words = bytes.withUnsafeBytes { raw in (0...count).map { raw.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self) } }
            guard words[0] == layout else { return nil }
            return Array(words.dropFirst())
        }
    }
}
