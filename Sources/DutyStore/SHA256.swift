import CCrypto

/// SHA-256 through OpenSSL's libcrypto.
public enum SHA256 {
    public static func hex(_ bytes: [UInt8]) -> String {
        var digest = [UInt8](repeating: 0, count: 32)
        let ok = bytes.withUnsafeBytes { buf in
            digest.withUnsafeMutableBufferPointer { duty_sha256(buf.baseAddress, buf.count, $0.baseAddress) }
        }
        precondition(ok == 1, "SHA-256 failed")
        let hexDigits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(64)
        for b in digest {
            out.append(hexDigits[Int(b >> 4)])
            out.append(hexDigits[Int(b & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    public static func hex(_ text: String) -> String { hex(Array(text.utf8)) }
}
