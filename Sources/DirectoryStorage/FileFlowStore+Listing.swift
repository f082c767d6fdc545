import DeviceFlow
import HostFiles

/// A person's grants ("Your devices") and the listings of the operator's commands.
extension FileFlowStore {
    /// The families in `subject`'s grant index (`GrantIndex`): one read of the index, then one
    /// of each family. Entries whose family is gone (a crash before it was written, or it was
    /// collected) or no longer parses are skipped.
    public func refreshFamilies(subject: String) throws -> [RefreshFamily] {
        try GrantIndex(directory: directory).familyIDs(subject: subject).compactMap { id in
            let path = familyPaths(id).record
            guard let bytes = try Sys.readFile(path), let family = try? RecordCoding.decodeFamily(bytes, path: path),
                  family.subject == subject else { return nil }
            return family
        }
    }

    /// Lists every `families/` shard (operator commands only); unreadable families are skipped.
    public func everyRefreshFamily() throws -> [RefreshFamily] {
        try directory.exportedRefreshFamilyIDs().compactMap { id in
            let path = familyPaths(id).record
            return (try? Sys.readFile(path)).flatMap { $0 }.flatMap { try? RecordCoding.decodeFamily($0, path: path) }
        }
    }

    /// Lists every `flows/` shard (operator commands only); unreadable or torn records are skipped.
    public func everyFlow() throws -> [DeviceFlowRecord] {
        try directory.exportedFlowIDs().compactMap { readFlowRecord(flowPaths($0).record) }
    }
}

extension FileWebStateStore {
    /// Lists the `sessions/` shards (operator commands only); unreadable sessions are skipped,
    /// and so are those ended by a subject's revocation (`session(idHash:)` would not return
    /// them). A listing writes nothing: the ended ones stay until a sign-in check or garbage
    /// collection removes them.
    public func sessions(subject: String?) throws -> [(idHash: String, session: WebSession)] {
        try directory.exportedSessionHashes().compactMap { hash in
            guard let stored = try? storedSession(idHash: hash), subject == nil || stored.session.subject == subject,
                  !endedByRevocation(stored.session) else { return nil }
            return (hash, stored.session)
        }
    }
}
