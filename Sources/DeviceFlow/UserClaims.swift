/// What the configuration says about a person: the claims id_tokens and userinfo carry
/// (OIDC Core §5.1). Passwords are not here; they live in the htpasswd users file.
public struct UserClaims: Sendable, Equatable {
    /// OIDC `name`.
    public var name: String?
    /// OIDC `email`.
    public var email: String?
    /// OIDC `email_verified`.
    public var emailVerified: Bool
    /// Group names, for operators who map them to scopes or upstream headers.
    public var groups: [String]

    public init(name: String? = nil, email: String? = nil, emailVerified: Bool = false, groups: [String] = []) {
        self.name = name
        self.email = email
        self.emailVerified = emailVerified
        self.groups = groups
    }
}
