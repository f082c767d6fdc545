#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import DeviceFlow
import DeviceGateConfig
import DeviceGateAssembly
import FastCGIServer
import DirectoryStorage
import Logging
import TokenSigning

/// The steps of `serve` before and around the supervisor, each ending the start with a message
/// that names what to fix.
extension ServeCommand {
    /// A signing key exists before any worker signs with it (`tokens.keys_dir`, or the
    /// database, where the first host to start creates it and the others find it).
    func prepareSigningKeys(_ config: DeviceGateConfiguration, storage: OpenedStorage) throws {
        let keys = storage.application.keys
        do {
            try KeyRing.ensureKey(files: keys, algorithm: SigningKey.Algorithm(rawValue: config.tokens.signingAlgorithm) ?? .rs256, now: SystemClock().now())
        } catch {
            printError("devicegate: cannot prepare signing keys in \(ConnectionStringRedaction.redact(keys.location)): \(config.describe(error))")
            throw ExitCode(1)
        }
    }

    /// The listening socket the workers get as fd 0: bound here, or inherited on fd 0
    /// (--inherit-socket, `listen: fd:0`, systemd socket activation).
    func bindListener(_ config: DeviceGateConfiguration) throws -> Int32 {
        guard inheritSocket || config.server.listen == .inherited else {
            do {
                switch config.server.listen {
                case .unix(let path): return try ListeningSocket.unix(path: path, mode: mode_t(config.server.socketMode))
                case .tcp(let host, let port): return try ListeningSocket.tcp(host: host, port: port)
                case .inherited: return 0
                }
            } catch {
                printError("devicegate: cannot listen on \(config.server.listen): \(error)")
                throw ExitCode(1)
            }
        }
        guard FastCGIWorker.standardInputIsListeningSocket() else {
            printError("devicegate: --inherit-socket given but fd 0 is not a listening socket")
            throw ExitCode(1)
        }
        if let refusal = (PeerAllowList(config.server.allowRemoteFastCGI) ?? PeerAllowList([])!).refusal(forListener: 0) {
            printError("devicegate: \(refusal)")
            throw ExitCode(1)
        }
        return 0
    }

    /// SIGHUP: the worker count of the configuration file as it is now, or nil (logged) when it
    /// is invalid. --workers, when given, stays the count.
    func reloadedWorkerCount(running config: DeviceGateConfiguration, logger: Logger) -> Int? {
        switch options.loadResult() {
        case .success(let newConfig):
            if newConfig.storage != config.storage {
                // Workers on another backend than the supervisor's housekeeping would split the state.
                logger.error("storage: changed; it takes effect only on a restart of serve, so no worker is replaced")
                return nil
            }
            if newConfig.server.listen != config.server.listen || newConfig.stateDirectory != config.stateDirectory {
                logger.warning("server.listen and state_dir changes take effect only on restart")
            }
            return workers ?? newConfig.server.workers
        case .failure(let failure):
            logger.error("configuration invalid", metadata: ["issues": "\(failure.message)"])
            return nil
        }
    }
}
