#if canImport(Glibc)
import Glibc
#endif
import DeviceFlow
import HostFiles

/// Unknown device codes per address and minute, shared by every process of a host in one
/// flock-ed table, `<root>/unknown-codes` (4,096 entries of 128 bytes, written in place,
/// never renamed; soft state, not fsynced), so that the audit log gets exactly one line per
/// address a minute however many workers answered, and a worker's SIGKILL loses no count.
///
/// Entry: window (Int64), count (Int64), address length, client length (255: several
/// clients), 46 bytes of address, 64 of client id. An address hashes to a run of 32 entries
/// (linear probing); entry 0 is kept for `*`, which counts whatever finds no entry of its own,
/// so the table never grows and never drops a count. An entry of an ended minute met on the
/// way is handed back to be written before it is reused; `takeDue` hands back all of them.
public final class FileUnknownCodeCounts: UnknownCodeCounting, @unchecked Sendable {
    public let path: String
    static let entries = 4096
    static let entrySize = 128
    static let run = 32
    static let addressBytes = 46
    static let clientBytes = 64

    public let kind: UnknownCredential

    /// The table of `kind`: `<root>/unknown-codes` for device codes, `<root>/unknown-refresh-tokens`,
    /// `<root>/unknown-authorization-codes`.
    /// One table per kind in `directory`: what `Telemetry.shareUnknownCredentials` counts in.
    public static func tables(in directory: StateDirectory) -> [UnknownCredential: any UnknownCodeCounting] {
        Dictionary(uniqueKeysWithValues: UnknownCredential.allCases.map { ($0, FileUnknownCodeCounts(directory: directory, kind: $0) as any UnknownCodeCounting) })
    }

    public init(directory: StateDirectory, kind: UnknownCredential = .deviceCode) {
        self.kind = kind
        switch kind {
        case .deviceCode: path = "\(directory.root)/unknown-codes"
        case .refreshToken: path = "\(directory.root)/unknown-refresh-tokens"
        case .authorizationCode: path = "\(directory.root)/unknown-authorization-codes"
        }
    }

    /// Counts one unknown code; returns counts of ended minutes that had to make room.
    public func add(address: String, clientID: String, window: Int64) throws -> [UnknownCodeCount] {
        let key = Array(address.utf8.prefix(Self.addressBytes))
        let client = Array(clientID.utf8.prefix(Self.clientBytes))
        return try withLockedTable { fd in
            let digest = Encoding.sha256(address)
            let start = 1 + (Int(digest[0]) << 8 | Int(digest[1])) % (Self.entries - 1 - Self.run)
            let bytes = try read(fd, from: start, count: Self.run)
            var due: [UnknownCodeCount] = []
            var chosen: (index: Int, entry: Entry)?
            for i in 0..<Self.run {
                let entry = Entry(bytes, at: i * Self.entrySize)
                if entry.count > 0 && entry.window != window {
                    due.append(entry.count(window: entry.window))
                    try write(fd, Entry.empty, at: start + i)
                    if chosen == nil { chosen = (start + i, .empty) }
                    continue
                }
                if entry.count > 0 && entry.address == key { chosen = (start + i, entry); break }
                if entry.count == 0 && chosen == nil { chosen = (start + i, .empty) }
            }
            var (index, entry) = try chosen ?? (0, Entry(read(fd, from: 0, count: 1), at: 0))
            if index == 0 {
                if entry.count > 0 && entry.window != window { due.append(entry.count(window: entry.window)); entry = .empty }
                entry.address = Array("*".utf8)
            } else if entry.count == 0 {
                entry.address = key
            }
            if entry.count == 0 { entry.client = client; entry.window = window } else if entry.client != client { entry.severalClients = true }
            entry.count += 1
            try write(fd, entry, at: index)
            return due
        }
    }

    /// Every count of a minute before `window`, removed from the table.
    public func takeDue(window: Int64) throws -> [UnknownCodeCount] {
        guard Sys.stat(path) != nil else { return [] }
        return try withLockedTable { fd in
            let bytes = try read(fd, from: 0, count: Self.entries)
            var due: [UnknownCodeCount] = []
            for i in 0..<Self.entries {
                let entry = Entry(bytes, at: i * Self.entrySize)
                guard entry.count > 0, entry.window < window else { continue }
                due.append(entry.count(window: entry.window))
                try write(fd, .empty, at: i)
            }
            return due
        }
    }

    private func withLockedTable<T>(_ body: (Int32) throws -> T) throws -> T {
        let fd = try Sys.open(path, O_RDWR | O_CREAT)
        return try Sys.closeAfter(fd) { fd in
            _ = try Sys.lockExclusive(fd, path)
            return try body(fd)
        }
    }

    /// `count` entries from `index`, zeros past the end of the (sparse) file.
    private func read(_ fd: Int32, from index: Int, count: Int) throws -> [UInt8] {
        var bytes = try Sys.pread(fd, path, count: count * Self.entrySize, offset: off_t(index * Self.entrySize))
        if bytes.count < count * Self.entrySize { bytes += [UInt8](repeating: 0, count: count * Self.entrySize - bytes.count) }
        return bytes
    }

    private func write(_ fd: Int32, _ entry: Entry, at index: Int) throws {
        try Sys.pwriteAll(fd, path, entry.encoded(), offset: off_t(index * Self.entrySize))
    }

    struct Entry {
        var window: Int64 = 0
        var count: Int64 = 0
        var address: [UInt8] = []
        var client: [UInt8] = []
        var severalClients = false

        static let empty = Entry()

        init() {}

        init(_ bytes: [UInt8], at offset: Int) {
            func word(_ at: Int) -> Int64 { (0..<8).reduce(Int64(0)) { $0 | Int64(bytes[offset + at + $1]) << (8 * $1) } }
            window = word(0)
            count = max(0, word(8))
            let addressLength = min(Int(bytes[offset + 16]), FileUnknownCodeCounts.addressBytes)
            let clientLength = Int(bytes[offset + 17])
            severalClients = clientLength == 255
            address = Array(bytes[(offset + 18)..<(offset + 18 + addressLength)])
            let base = offset + 18 + FileUnknownCodeCounts.addressBytes
            client = severalClients ? [] : Array(bytes[base..<(base + min(clientLength, FileUnknownCodeCounts.clientBytes))])
        }

        func encoded() -> [UInt8] {
            var out = [UInt8](repeating: 0, count: FileUnknownCodeCounts.entrySize)
            for b in 0..<8 {
                out[b] = UInt8(truncatingIfNeeded: window >> (8 * b))
                out[8 + b] = UInt8(truncatingIfNeeded: count >> (8 * b))
            }
            out[16] = UInt8(address.count)
            out[17] = severalClients ? 255 : UInt8(client.count)
            out.replaceSubrange(18..<(18 + address.count), with: address)
            let base = 18 + FileUnknownCodeCounts.addressBytes
            if !severalClients { out.replaceSubrange(base..<(base + client.count), with: client) }
            return out
        }

        func count(window: Int64) -> UnknownCodeCount {
            UnknownCodeCount(address: String(decoding: address, as: UTF8.self),
                             clientID: severalClients ? nil : String(decoding: client, as: UTF8.self), count: count, window: window)
        }
    }
}
