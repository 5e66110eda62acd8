// libFuzzer target: the control protocol decoder, for requests (what the daemon reads from any local user)
// and responses (what `duty` reads). Built by Tests/Fuzz/run.
import DutyControl

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzControl(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let line = Array(UnsafeBufferPointer(start: data, count: size))
    _ = try? ControlRequest.decode(line)
    _ = try? ControlResponse.decode(line)
    return 0
}
