/// A table for a terminal: a header row and left-aligned columns two spaces apart, each cell
/// escaped first (`TextTable.cell`), so that nothing a device or a person sent (a subject, a
/// User-Agent product) can move the cursor, recolour the terminal or reorder text.
struct TextTable {
    let headers: [String]
    private(set) var rows: [[String]] = []

    init(_ headers: String...) { self.headers = headers }

    mutating func append(_ cells: String...) { rows.append(cells.map(Self.cell)) }

    /// The table, one line per row, each ending in a newline.
    func rendered() -> String {
        let widths = headers.indices.map { column in
            ([headers] + rows).map { $0.indices.contains(column) ? $0[column].count : 0 }.max() ?? 0
        }
        return ([headers] + rows).map { row in
            var line = ""
            for (column, text) in row.enumerated() {
                let last = column == row.count - 1
                line += last ? text : text + String(repeating: " ", count: widths[column] - text.count + 2)
            }
            return line + "\n"
        }.joined()
    }

    /// `text` as one printable cell: control and format characters (C0, DEL, C1, bidi
    /// overrides, zero-width joiners) and spaces other than U+0020 become `\u{…}`; an empty value `-`.
    static func cell(_ text: String) -> String {
        if text.isEmpty { return "-" }
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar.properties.generalCategory {
            case .control, .format, .lineSeparator, .paragraphSeparator, .surrogate, .privateUse, .unassigned:
                out += "\\u{" + String(scalar.value, radix: 16) + "}"
            case .spaceSeparator where scalar != " ":
                out += "\\u{" + String(scalar.value, radix: 16) + "}"
            default:
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
