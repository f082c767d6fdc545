import DeviceFlow

// Placeholder while the storage branch writes the queries: every call refuses.
extension PostgresFlowStore {
    public func refreshFamilies(subject: String) throws -> [RefreshFamily] { throw FlowStorageError(.io, "refreshFamilies: not yet built") }
    public func everyRefreshFamily() throws -> [RefreshFamily] { throw FlowStorageError(.io, "everyRefreshFamily: not yet built") }
    public func everyFlow() throws -> [DeviceFlowRecord] { throw FlowStorageError(.io, "everyFlow: not yet built") }
}

extension PostgresWebStateStore {
    public func sessions(subject: String?) throws -> [(idHash: String, session: WebSession)] { throw FlowStorageError(.io, "sessions: not yet built") }
}
