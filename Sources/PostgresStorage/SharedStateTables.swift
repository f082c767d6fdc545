/// Migration 3: the tables behind `PostgresWebStateStore`, `PostgresKeyStore`,
/// `PostgresAdmissionCounters` and `PostgresUnknownCodeCounts`.
///
/// What the state directory keeps hashed is hashed here too: a session is stored under
/// SHA-256 of its id (the id never reaches the database), and attempt counters and admission
/// counters under SHA-256 of their key (which holds usernames and client addresses). Times are
/// Unix milliseconds (`*_ms`) or, for the expiry buckets and unknown-code minutes, the units
/// `ExpiryBuckets` and `UnknownCodeCount` use.
///
/// `signing_keys.pem` is the private key in PEM, as the keys directory keeps it in 0600 files:
/// only the role that owns these tables can read it (PostgreSQL grants nothing on a new table
/// to other roles), so that role's password and the connection's TLS protect it.
enum SharedStateTables {
    static let sql = """
        CREATE TABLE web_sessions (
            id_hash text PRIMARY KEY,
            subject text NOT NULL,
            auth_time_ms bigint NOT NULL,
            expires_at_ms bigint NOT NULL
        );
        CREATE INDEX web_sessions_expiry ON web_sessions (expires_at_ms);

        CREATE TABLE web_counters (
            key_hash text NOT NULL,
            window_end_ms bigint NOT NULL,
            count bigint NOT NULL,
            PRIMARY KEY (key_hash, window_end_ms)
        ) WITH (fillfactor = 50);
        CREATE INDEX web_counters_window ON web_counters (window_end_ms);

        CREATE TABLE signing_keys (
            kid text PRIMARY KEY,
            alg text NOT NULL,
            created_ms bigint NOT NULL,
            retired_ms bigint,
            pem text NOT NULL,
            added_version bigint NOT NULL UNIQUE
        );
        CREATE TABLE signing_key_version (
            one boolean PRIMARY KEY DEFAULT true CHECK (one),
            version bigint NOT NULL
        );
        INSERT INTO signing_key_version (one, version) VALUES (true, 0);

        CREATE TABLE admission_counters (
            key_hash text PRIMARY KEY,
            buckets bytea NOT NULL,
            live_until_seconds bigint NOT NULL
        ) WITH (fillfactor = 50);
        CREATE INDEX admission_counters_live_until ON admission_counters (live_until_seconds);

        CREATE TABLE unknown_code_counts (
            kind text NOT NULL,
            address text NOT NULL,
            window_minute bigint NOT NULL,
            client_id text,
            count bigint NOT NULL,
            PRIMARY KEY (kind, address, window_minute)
        );
        """
}
