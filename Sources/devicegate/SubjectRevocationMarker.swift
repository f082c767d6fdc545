#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import DeviceFlow
import DeviceGateConfig

/// What the commands that revoke share (`users remove`, `grants revoke`, `sessions revoke`):
/// they must write as the service user, and a subject's revocation marker must outlive
/// everything it covers.
enum SubjectRevocationMarker {
    /// Until when a marker written `now` is kept. Lifetimes are fixed when a token, family or
    /// session is made, and the configuration may have allowed longer ones then than now, so
    /// it is kept for the longest any configuration allows (refresh families: 365 days), plus a
    /// minute.
    static func keepUntil(_ config: DeviceGateConfiguration, now: UnixTime) -> UnixTime {
        let longest = max(366 * 86_400, config.tokens.refreshTokenLifetime, config.lifetimes.accessToken, config.web.sessionLifetime)
        return now.adding(seconds: Int64(longest + 60))
    }

    /// Refuses (one line naming the fix, exit 1) unless `state_dir` belongs to this user. Files
    /// written by another user (root, say) are 0600 and unreadable to the workers: a marker
    /// they cannot read counts as revoked forever, a family they cannot read cannot be used.
    static func requireStateDirectoryOwner(_ config: DeviceGateConfiguration, command: String) throws {
        var owner = stat()
        guard stat(config.stateDirectory, &owner) == 0, owner.st_uid != geteuid() else { return }
        printError("devicegate: \(config.stateDirectory) belongs to uid \(owner.st_uid), not to this user (uid \(geteuid())): the workers could not read what this command writes")
        printError("devicegate: run it as the owner of \(config.stateDirectory), e.g. sudo -u devicegate devicegate \(command)")
        throw ExitCode(1)
    }
}

extension ExitCode {
    /// `grants revoke` and `sessions revoke`: nothing matched (no such grant, no grant or
    /// session of the subject). Distinct from 1 (the store failed) and 2 (the configuration).
    static let nothingMatched = ExitCode(3)
}
