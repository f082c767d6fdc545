/// Where a grant (a refresh family, RFC 6749 §6) stands at an instant, as the operator's
/// `grants list` and "Your devices" tell it: usable, revoked, or past its lifetime.
///
/// A grant is revoked when its own record says so (RFC 7009 revocation, a reused refresh token,
/// `grants revoke`) or when its subject was revoked at or after the grant was made
/// (`FlowStorage.revokeSubject`, written by `users remove` and `grants revoke --subject`): the
/// store refuses such a family's refresh tokens although the family's record is unchanged.
/// Revocation wins over expiry, so a revoked grant reads revoked for as long as it is kept.
public enum GrantState: Sendable, Equatable {
    case live
    /// Revoked at this instant: the family's own `revokedAt`, else the subject marker's time.
    case revoked(at: UnixTime)
    case expired

    /// `subjectRevokedAt` is `FlowStorage.subjectRevokedAt(family.subject)`.
    public init(of family: RefreshFamily, at now: UnixTime, subjectRevokedAt: UnixTime?) {
        if let revokedAt = family.revokedAt {
            self = .revoked(at: revokedAt)
        } else if let marker = subjectRevokedAt, family.createdAt <= marker {
            self = .revoked(at: marker)
        } else if family.isLive(at: now) {
            self = .live
        } else {
            self = .expired
        }
    }

    /// `live`, `revoked` or `expired`: the word the commands print and `--json` carries.
    public var name: String {
        switch self {
        case .live: "live"
        case .revoked: "revoked"
        case .expired: "expired"
        }
    }

    public var revokedAt: UnixTime? {
        if case .revoked(let at) = self { return at }
        return nil
    }
}
