/// Migration 2: the tables behind `PostgresFlowStore` (flows, user-code claims, access
/// tokens, refresh families and their token index, revocations).
///
/// Every field of the records is a column of its own, so `devicegate status`, garbage
/// collection and an operator's `psql` read them; times are `bigint` milliseconds since the
/// epoch, as `UnixTime` holds them. Nothing secret is stored: a flow's id is SHA-256 of its
/// device code, a user-code key is HMAC-SHA-256 with the install's pepper, tokens are kept by
/// their SHA-256. Every table has an index on the expiry that garbage collection deletes by.
enum FlowTables {
    static let sql = """
        CREATE TABLE flows (
            id text PRIMARY KEY,
            user_code_key text NOT NULL,
            client_id text NOT NULL,
            scope text NOT NULL,
            created_ms bigint NOT NULL,
            expires_ms bigint NOT NULL,
            interval_s integer NOT NULL,
            status text NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'redeemed')),
            subject text,
            auth_time_ms bigint,
            approved_ms bigint,
            denied_ms bigint,
            redeemed_ms bigint,
            issued_access_id text,
            issued_access_expires_ms bigint,
            issued_family_id text,
            -- The soft poll state (PollState): the last poll and the interval now in force.
            last_poll_ms bigint,
            poll_interval_s integer NOT NULL,
            CHECK ((status IN ('approved', 'redeemed')) = (subject IS NOT NULL AND auth_time_ms IS NOT NULL AND approved_ms IS NOT NULL)),
            CHECK ((status = 'denied') = (denied_ms IS NOT NULL)),
            CHECK ((status = 'redeemed') = (redeemed_ms IS NOT NULL))
        );
        CREATE INDEX flows_by_expiry ON flows (expires_ms);

        -- Which flow holds a user code. One row per key: a live flow's claim is never replaced,
        -- an expired one's is taken over by the next flow drawing that code.
        CREATE TABLE user_code_claims (
            key text PRIMARY KEY,
            flow_id text NOT NULL,
            expires_ms bigint NOT NULL
        );
        CREATE INDEX user_code_claims_by_expiry ON user_code_claims (expires_ms);

        CREATE TABLE access_tokens (
            token_hash text PRIMARY KEY,
            client_id text NOT NULL,
            subject text NOT NULL,
            scope text NOT NULL,
            issued_ms bigint NOT NULL,
            expires_ms bigint NOT NULL,
            flow_id text NOT NULL,
            audience text
        );
        CREATE INDEX access_tokens_by_expiry ON access_tokens (expires_ms);

        CREATE TABLE refresh_families (
            id text PRIMARY KEY,
            client_id text NOT NULL,
            subject text NOT NULL,
            scope text NOT NULL,
            auth_time_ms bigint NOT NULL,
            created_ms bigint NOT NULL,
            expires_ms bigint NOT NULL,
            current_token_hash text NOT NULL,
            revoked_ms bigint,
            -- The access tokens issued from the family (RefreshFamily.accessTokens), in order:
            -- their ids and expiries, element by element.
            access_token_ids text[] NOT NULL,
            access_token_expires_ms bigint[] NOT NULL,
            CHECK (cardinality(access_token_ids) = cardinality(access_token_expires_ms))
        );
        CREATE INDEX refresh_families_by_expiry ON refresh_families (expires_ms);

        -- Every refresh token a family ever had, current or rotated away, until the family
        -- expires: how reuse of an old one is detected.
        CREATE TABLE refresh_tokens (
            token_hash text PRIMARY KEY,
            family_id text NOT NULL,
            expires_ms bigint NOT NULL
        );
        CREATE INDEX refresh_tokens_by_expiry ON refresh_tokens (expires_ms);

        -- Revoked access tokens (by id: JWT jti, or an opaque token's SHA-256) until they expire.
        CREATE TABLE access_token_revocations (
            token_id text PRIMARY KEY,
            expires_ms bigint NOT NULL
        );
        CREATE INDEX access_token_revocations_by_expiry ON access_token_revocations (expires_ms);

        -- Everything of a subject dated at or before revoked_ms is revoked; the row may go after
        -- keep_until_ms, when nothing it covers can still be alive.
        CREATE TABLE subject_revocations (
            subject text PRIMARY KEY,
            revoked_ms bigint NOT NULL,
            keep_until_ms bigint NOT NULL
        );
        CREATE INDEX subject_revocations_by_keep_until ON subject_revocations (keep_until_ms);
        """
}
