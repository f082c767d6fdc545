/// The SQL of `PostgresFlowStore`, prepared once per connection. Every parameter is cast to its
/// column's type, so no statement depends on the server inferring one. Names begin `flow_`
/// (prepared statements share one namespace per connection with the other stores).
extension PostgresFlowStore {
    enum Statements {
        static let flowValues = """
            $1::text, $2::text, $3::text, $4::text, $5::bigint, $6::bigint, $7::integer, $8::text, $9::text, $10::bigint, \
            $11::bigint, $12::bigint, $13::bigint, $14::text, $15::bigint, $16::text, $17::bigint, $18::integer, $19::text, $20::text
            """

        /// $1… as `FlowRows.flowParameters`: the claim ($2 key, $1 flow, $6 expiry) inserted, or
        /// taken over when its flow expired before this one was created ($5); the flow inserted
        /// only from the claim's RETURNING row.
        static let createFlow = PostgresStatement("flow_create", """
            WITH claim AS (
                INSERT INTO user_code_claims AS c (key, flow_id, expires_ms) VALUES ($2::text, $1::text, $6::bigint)
                ON CONFLICT (key) DO UPDATE SET flow_id = EXCLUDED.flow_id, expires_ms = EXCLUDED.expires_ms
                WHERE c.expires_ms < $5::bigint
                RETURNING flow_id
            )
            INSERT INTO flows (\(FlowRows.flowColumns)) SELECT \(flowValues) FROM claim RETURNING id
            """)

        static let claimedFlow = PostgresStatement("flow_claimed", "SELECT flow_id FROM user_code_claims WHERE key = $1::text")

        static let lockFlow = PostgresStatement("flow_lock", "SELECT \(FlowRows.flowColumns) FROM flows WHERE id = $1::text FOR UPDATE")

        static let writeFlow = PostgresStatement("flow_write", """
            UPDATE flows SET (\(FlowRows.flowColumns)) = (\(flowValues)) WHERE id = $1::text
            """)

        static let writePoll = PostgresStatement("flow_write_poll", """
            UPDATE flows SET last_poll_ms = $2::bigint, poll_interval_s = $3::integer WHERE id = $1::text
            """)

        /// `a = EXCLUDED.a, b = EXCLUDED.b, …` for an upsert that writes every column.
        static func replacing(_ columns: String) -> String {
            columns.split(separator: ",").map { $0.trimmingSpaces }.map { "\($0) = EXCLUDED.\($0)" }.joined(separator: ", ")
        }

        // MARK: Access tokens

        static let saveAccessToken = PostgresStatement("flow_save_access_token", """
            INSERT INTO access_tokens (\(FlowRows.accessTokenColumns))
            VALUES ($1::text, $2::text, $3::text, $4::text, $5::bigint, $6::bigint, $7::text, $8::text)
            ON CONFLICT (token_hash) DO UPDATE SET \(replacing(FlowRows.accessTokenColumns))
            """)

        static let accessToken = PostgresStatement("flow_access_token", """
            SELECT \(FlowRows.accessTokenColumns) FROM access_tokens WHERE token_hash = $1::text
            """)

        // MARK: Refresh families

        static let familyValues = """
            $1::text, $2::text, $3::text, $4::text, $5::bigint, $6::bigint, $7::bigint, $8::text, $9::bigint, $10::text[], $11::bigint[], \
            $12::text, $13::text, $14::bigint, $15::text
            """

        static let upsertFamily = """
            INSERT INTO refresh_families (\(FlowRows.familyColumns)) VALUES (\(familyValues))
            ON CONFLICT (id) DO UPDATE SET \(replacing(FlowRows.familyColumns))
            """

        /// The family ($1…$11 as `FlowRows.familyParameters`) and its current token ($8, expiry $7).
        static let createFamily = PostgresStatement("flow_create_family", """
            WITH indexed AS (
                INSERT INTO refresh_tokens (token_hash, family_id, expires_ms) VALUES ($8::text, $1::text, $7::bigint)
                ON CONFLICT (token_hash) DO UPDATE SET family_id = EXCLUDED.family_id, expires_ms = EXCLUDED.expires_ms
            )
            \(upsertFamily)
            """)

        static let writeFamily = PostgresStatement("flow_write_family", upsertFamily)

        static let indexRefreshToken = PostgresStatement("flow_index_refresh_token", """
            INSERT INTO refresh_tokens (token_hash, family_id, expires_ms) VALUES ($1::text, $2::text, $3::bigint)
            ON CONFLICT (token_hash) DO UPDATE SET family_id = EXCLUDED.family_id, expires_ms = EXCLUDED.expires_ms
            """)

        static let familyOfToken = PostgresStatement("flow_family_of_token", "SELECT family_id FROM refresh_tokens WHERE token_hash = $1::text")

        /// The family's row lock, alone. Not joined with the token list below: under READ
        /// COMMITTED a `FOR UPDATE` that waited for another transaction re-reads the locked row
        /// but not the rows a join made from its old version, so a locked read with
        /// `unnest(access_token_ids)` returned the token list as it was before the other
        /// transaction appended to it (a reuse detected on one host then left the token the
        /// other host had just issued unrevoked: test_tokens on two hosts).
        static let lockFamily = PostgresStatement("flow_lock_family", "SELECT id FROM refresh_families WHERE id = $1::text FOR UPDATE")

        /// The family's columns, then one row per access token in order (`FlowRows.family`);
        /// read after `lockFamily`, so it sees the latest committed version.
        static let readFamily = PostgresStatement("flow_read_family", """
            SELECT \(FlowRows.familyWithTokenColumns)
            FROM refresh_families f
            LEFT JOIN LATERAL unnest(f.access_token_ids, f.access_token_expires_ms) WITH ORDINALITY AS t(token_id, expires_ms, n) ON true
            WHERE f.id = $1::text
            ORDER BY t.n
            """)

        // MARK: Listings (issue 14)

        /// Families as `readFamily` reads them, grouped by id (`FlowRows.families`), filtered by `condition`.
        static func listFamilies(_ name: String, where condition: String) -> PostgresStatement {
            PostgresStatement("flow_list_families_\(name)", """
                SELECT \(FlowRows.familyWithTokenColumns)
                FROM refresh_families f
                LEFT JOIN LATERAL unnest(f.access_token_ids, f.access_token_expires_ms) WITH ORDINALITY AS t(token_id, expires_ms, n) ON true
                WHERE \(condition)
                ORDER BY f.id, t.n
                """)
        }

        /// $1 the subject: one scan of `refresh_families_by_subject` (migration 5).
        static let familiesOfSubject = listFamilies("of_subject", where: "f.subject = $1::text")
        static let everyFamily = listFamilies("every", where: "true")
        static let everyFlow = PostgresStatement("flow_list_every", "SELECT \(FlowRows.flowColumns) FROM flows ORDER BY id")

        // MARK: Revocations

        static let revokeAccessToken = PostgresStatement("flow_revoke_access_token", """
            INSERT INTO access_token_revocations AS r (token_id, expires_ms) VALUES ($1::text, $2::bigint)
            ON CONFLICT (token_id) DO UPDATE SET expires_ms = GREATEST(r.expires_ms, EXCLUDED.expires_ms)
            """)

        static let accessTokenRevoked = PostgresStatement("flow_access_token_revoked", """
            SELECT 1 FROM access_token_revocations WHERE token_id = $1::text
            """)

        static let revokeSubject = PostgresStatement("flow_revoke_subject", """
            INSERT INTO subject_revocations AS s (subject, revoked_ms, keep_until_ms) VALUES ($1::text, $2::bigint, $3::bigint)
            ON CONFLICT (subject) DO UPDATE SET revoked_ms = GREATEST(s.revoked_ms, EXCLUDED.revoked_ms),
                                                keep_until_ms = GREATEST(s.keep_until_ms, EXCLUDED.keep_until_ms)
            """)

        static let subjectRevokedAt = PostgresStatement("flow_subject_revoked_at", """
            SELECT revoked_ms FROM subject_revocations WHERE subject = $1::text
            """)

        // MARK: Garbage collection and status

        /// Deletes up to `collectionBatch` rows of `table` whose `column` is before $1, and
        /// counts them. The condition is repeated outside the subquery: a row updated since the
        /// subquery read it (a claim taken over by a new flow) is checked again on its new
        /// version and kept if it is live now.
        static func collect(_ name: String, table: String, key: String, column: String) -> PostgresStatement {
            PostgresStatement("flow_collect_\(name)", """
                WITH gone AS (
                    DELETE FROM \(table)
                    WHERE \(key) IN (SELECT \(key) FROM \(table) WHERE \(column) < $1::bigint LIMIT \(collectionBatch))
                      AND \(column) < $1::bigint
                    RETURNING 1
                )
                SELECT count(*) FROM gone
                """)
        }

        static let collectFlows = collect("flows", table: "flows", key: "id", column: "expires_ms")
        static let collectClaims = collect("claims", table: "user_code_claims", key: "key", column: "expires_ms")
        static let collectAccessTokens = collect("access_tokens", table: "access_tokens", key: "token_hash", column: "expires_ms")
        static let collectFamilies = collect("families", table: "refresh_families", key: "id", column: "expires_ms")
        static let collectRefreshTokens = collect("refresh_tokens", table: "refresh_tokens", key: "token_hash", column: "expires_ms")
        static let collectAccessTokenRevocations = collect("access_token_revocations", table: "access_token_revocations", key: "token_id",
                                                           column: "expires_ms")
        static let collectSubjectRevocations = collect("subject_revocations", table: "subject_revocations", key: "subject",
                                                       column: "keep_until_ms")

        /// $1 now. The census of `FlowCensus`: redeemed, then expired, then by status.
        static let summary = PostgresStatement("flow_summary", """
            SELECT
                count(*) FILTER (WHERE status = 'pending' AND expires_ms > $1::bigint),
                count(*) FILTER (WHERE status = 'approved' AND expires_ms > $1::bigint),
                count(*) FILTER (WHERE status = 'denied' AND expires_ms > $1::bigint),
                count(*) FILTER (WHERE status = 'redeemed'),
                count(*) FILTER (WHERE status <> 'redeemed' AND expires_ms <= $1::bigint),
                (SELECT count(*) FROM access_tokens),
                (SELECT count(*) FROM refresh_families),
                (SELECT count(*) FROM access_token_revocations) + (SELECT count(*) FROM subject_revocations)
            FROM flows
            """)
    }
}

extension Substring {
    fileprivate var trimmingSpaces: String {
        String(drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
    }
}
