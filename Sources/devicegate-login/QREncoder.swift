import CQRencode
import DeviceGateLogin

/// libqrencode's encoder: the text as 8-bit data, error correction level M, the smallest version that fits.
enum QREncoder {
    static func matrix(for text: String) -> QRMatrix? {
        guard let code = QRcode_encodeString8bit(text, 0, QR_ECLEVEL_M) else { return nil }
        defer { QRcode_free(code) }
        let width = Int(code.pointee.width)
        let bytes = Array(UnsafeBufferPointer(start: code.pointee.data, count: width * width))
        return QRMatrix(width: width, libqrencodeModules: bytes)
    }
}
