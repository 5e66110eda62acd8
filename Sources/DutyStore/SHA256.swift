import CCrypto

/// SHA-256 through OpenSSL's libcrypto.
public enum SHA256 {
    /// The digest of `bytes` as 64 lowercase hex digits.
    public static func hex(_ bytes: [UInt8]) -> String {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 32) { digest in
            let ok = bytes.withUnsafeBytes { duty_sha256($0.baseAddress, $0.count, digest.baseAddress) }
            precondition(ok == 1, "SHA-256 failed")
            return String(unsafeUninitializedCapacity: 64) { out in
                for (i, b) in digest.enumerated() {
                    out[2 * i] = hexDigit(b >> 4)
                    out[2 * i + 1] = hexDigit(b & 0x0F)
                }
                return 64
            }
        }
    }

    public static func hex(_ text: String) -> String { hex(Array(text.utf8)) }

    private static func hexDigit(_ v: UInt8) -> UInt8 { v < 10 ? 0x30 + v : 0x57 + v }
}
