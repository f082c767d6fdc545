#if canImport(Glibc)
import Glibc
#endif
import DeviceFlow
import DeviceGateTesting
@testable import DirectoryStorage
@testable import HostFiles
import Testing

/// Garbage collection learns from a record's mtime (its expiry stamp) that it is not yet due,
/// without reading it (issue 15); files without a stamp are read as before. Each test swaps a
/// record's bytes for garbage and puts its mtime back: a pass that reads the file notices.
struct ExpiryStampTests {
    static func mtime(_ path: String) -> timespec { Sys.stat(path)!.st_mtim }

    /// Replaces `path`'s bytes, leaving its mtime as `mtime`.
    static func overwrite(_ path: String, with text: String, mtime: timespec) throws {
        let fd = try Sys.open(path, O_WRONLY | O_TRUNC)
        try Sys.closeAfter(fd) { try Sys.writeAll($0, path, Array(text.utf8)) }
        var times = [mtime, mtime]
        #expect(utimensat(AT_FDCWD, path, &times, 0) == 0)
    }

    func flowRecord(_ f: StoreFixture, _ auth: DeviceAuthorizationResponse) -> String {
        let id = Encoding.sha256Hex(auth.deviceCode)
        return "\(f.root)/flows/\(id.prefix(2))/\(id).flow"
    }

    func revocationFiles(_ f: StoreFixture) throws -> [String] {
        let dir = "\(f.root)/revoked"
        return try Sys.listDirectory(dir).flatMap { s in try Sys.listDirectory("\(dir)/\(s)").map { "\(dir)/\(s)/\($0)" } }
    }

    @Test func aLiveFlowIsCountedFromItsStampWithoutBeingRead() throws {
        let f = try StoreFixture()
        let auth = try f.authorize()
        let path = flowRecord(f, auth)
        let stamp = Self.mtime(path)
        let expiry = f.clock.now().adding(seconds: Int64(auth.expiresIn))
        #expect(Int64(stamp.tv_sec) == expiry.seconds, "the mtime is the flow's expiry")
        try Self.overwrite(path, with: "not a record", mtime: stamp)

        var report = f.store.collectGarbage(now: f.clock.now(), retentionSeconds: 3600, shards: 0..<256)
        #expect(report.unreadable == 0, "not due: not read")
        #expect(report.census.pending == 1)
        f.clock.advance(seconds: Int64(auth.expiresIn))
        report = f.store.collectGarbage(now: f.clock.now(), retentionSeconds: 3600, shards: 0..<256)
        #expect(report.unreadable == 0 && report.census.expired == 1, "expired, within retention: counted from the stamp")
        f.clock.advance(seconds: 3601)
        report = f.store.collectGarbage(now: f.clock.now(), retentionSeconds: 3600, shards: 0..<256)
        #expect(report.unreadable == 1, "past retention: due, read, and found unreadable")
    }

    /// A file written before stamps has its write time as mtime: it is read on every pass.
    @Test func aFileWithoutAStampIsReadAsBefore() throws {
        let f = try StoreFixture()
        let auth = try f.authorize()
        let path = flowRecord(f, auth)
        let written = timespec(tv_sec: Int(f.clock.now().seconds), tv_nsec: 123_456_789)
        try Self.overwrite(path, with: "not a record", mtime: written)
        let report = f.store.collectGarbage(now: f.clock.now(), retentionSeconds: 3600, shards: 0..<256)
        #expect(report.unreadable == 1)
        #expect(report.census == FlowCensus())
    }

    /// A stamp only postpones a read: removal is decided on the record. A revocation whose
    /// record says it has expired stays while its stamp says it is not due, and goes once it is.
    @Test func aStampPostponesButNeverDecidesARemoval() throws {
        let f = try StoreFixture()
        let expiresAt = f.clock.now().adding(seconds: 60)
        try f.store.revokeAccessToken(id: "jti-1", expiresAt: expiresAt)
        #expect(try f.store.isAccessTokenRevoked(id: "jti-1"))
        let path = try revocationFiles(f).first!
        let stamp = Self.mtime(path)
        // The record now says it expired long ago; the stamp still says in 60 s.
        try Self.overwrite(path, with: "1\n", mtime: stamp)
        var report = f.store.collectGarbage(now: f.clock.now(), retentionSeconds: 3600, shards: 0..<256)
        #expect(report.tokens == 0)
        #expect(try f.store.isAccessTokenRevoked(id: "jti-1"))
        f.clock.advance(seconds: 61)
        report = f.store.collectGarbage(now: f.clock.now(), retentionSeconds: 3600, shards: 0..<256)
        #expect(report.tokens == 1)
        #expect(try !f.store.isAccessTokenRevoked(id: "jti-1"))

        // And the other way: a stamp already due with a record still live removes nothing.
        try f.store.revokeAccessToken(id: "jti-2", expiresAt: f.clock.now().adding(seconds: 600))
        let second = try revocationFiles(f).first!
        var past = Self.mtime(second)
        past.tv_sec -= 1_000
        var times = [past, past]
        #expect(utimensat(AT_FDCWD, second, &times, 0) == 0)
        report = f.store.collectGarbage(now: f.clock.now(), retentionSeconds: 3600, shards: 0..<256)
        #expect(report.tokens == 0)
        #expect(try f.store.isAccessTokenRevoked(id: "jti-2"))
    }
}
