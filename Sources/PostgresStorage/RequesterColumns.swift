/// Migration 5 (issue 14): where a device authorization request came from
/// (`DeviceRequester`, RFC 8628 §5.4) on flows and on the refresh families they lead to, a
/// family's last refresh, and an index on `refresh_families (subject)` so that "Your devices"
/// (`refreshFamilies(subject:)`) reads that subject's rows only.
///
/// Every new column is nullable: rows written at version 4 read back with the fields nil. An
/// agent is kept only with an address, as `DeviceRequester` holds them.
enum RequesterColumns {
    static let sql = """
        ALTER TABLE flows
            ADD COLUMN requester_address text,
            ADD COLUMN requester_agent text,
            ADD CHECK (requester_agent IS NULL OR requester_address IS NOT NULL);

        ALTER TABLE refresh_families
            ADD COLUMN requester_address text,
            ADD COLUMN requester_agent text,
            ADD COLUMN last_used_ms bigint,
            ADD COLUMN last_used_from text,
            ADD CHECK (requester_agent IS NULL OR requester_address IS NOT NULL);

        CREATE INDEX refresh_families_by_subject ON refresh_families (subject);
        """
}
