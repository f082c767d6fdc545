#if canImport(Glibc)
import Glibc
#endif

/// Corpus files: what the replay mode and FuzzTests read.
public enum InputFiles {
    /// The files directly inside `path` (hidden ones skipped), sorted; `path` itself if it is
    /// not a directory.
    public static func list(_ path: String) -> [String] {
        guard let dir = opendir(path) else { return [path] }
        defer { closedir(dir) }
        var out: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if !name.hasPrefix(".") { out.append(path + "/" + name) }
        }
        return out.sorted()
    }

    public static func read(_ path: String) -> [UInt8]? {
        guard let file = fopen(path, "rb") else { return nil }
        defer { fclose(file) }
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = fread(&buffer, 1, buffer.count, file)
            out += buffer[0..<n]
            if n < buffer.count { return ferror(file) == 0 ? out : nil }
        }
    }
}
