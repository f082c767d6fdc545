/// Migration 4: the table behind `PostgresFlowStore`'s authorization codes (RFC 6749 §4.1.2).
///
/// As in `FlowTables`, every field is a column and times are `bigint` milliseconds. The id is
/// SHA-256 of the code: the code itself is never stored. `collect_ms` is the record's
/// `AuthorizationCodeRecord.collectableAt`, written by the store (a day after expiry, so a
/// replay within it still finds what the code produced and revokes it); garbage collection
/// deletes by its index.
enum AuthorizationCodeTables {
    static let sql = """
        CREATE TABLE authorization_codes (
            id text PRIMARY KEY,
            client_id text NOT NULL,
            subject text NOT NULL,
            scope text NOT NULL,
            auth_time_ms bigint NOT NULL,
            created_ms bigint NOT NULL,
            expires_ms bigint NOT NULL,
            collect_ms bigint NOT NULL,
            redirect_uri text NOT NULL,
            code_challenge text,
            nonce text,
            redeemed_ms bigint,
            issued_access_id text,
            issued_access_expires_ms bigint,
            issued_family_id text,
            CHECK ((issued_access_id IS NULL) = (issued_access_expires_ms IS NULL)),
            CHECK (issued_family_id IS NULL OR issued_access_id IS NOT NULL)
        );
        CREATE INDEX authorization_codes_by_collect ON authorization_codes (collect_ms);
        """
}
