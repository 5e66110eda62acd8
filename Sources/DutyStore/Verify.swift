import DutyCore
import Foundation

/// What `duty verify` found.
public struct VerifyReport: Sendable, Equatable {
    public var events: Int64
    /// The last event's seq and hash: keep them off the machine to detect a truncated tail later.
    public var headSeq: Int64
    public var headHash: String
    /// The first seq at which the chain is broken, or nil when it verifies.
    public var firstBadSeq: Int64?
    public var problem: String?

    public var ok: Bool { firstBadSeq == nil }
}

/// A head seen earlier, kept elsewhere: the log must still contain it.
public struct Checkpoint: Sendable, Equatable {
    public var seq: Int64
    public var hash: String

    public init(seq: Int64, hash: String) {
        self.seq = seq
        self.hash = hash
    }

    /// Parses `SEQ:HASH`.
    public init?(parsing text: String) {
        let parts = text.split(separator: ":", maxSplits: 1)
        guard parts.count == 2, let seq = Int64(parts[0]), seq > 0, parts[1].count == 64 else { return nil }
        self.init(seq: seq, hash: parts[1].lowercased())
    }
}

extension Store {
    /// Recomputes the hash chain from the first event: `seq` must run 1, 2, 3... without gaps, each hash must be
    /// SHA-256 of the previous hash and the row's canonical JSON, and each `log.checkpoint` must name an event
    /// that has the hash it recorded. With `expecting`, the log must still hold that event with that hash (a
    /// truncated or rewritten tail is found against a checkpoint kept elsewhere). Streams the log: memory stays flat.
    public func verify(expecting checkpoint: Checkpoint? = nil) throws -> VerifyReport {
        var previous = Store.genesis
        var expected: Int64 = 1
        var count: Int64 = 0
        var bad: (Int64, String)?
        var seenCheckpoint = false
        try database.query("SELECT seq, at, type, referral, actor, data, hash, worker FROM events ORDER BY seq") { r in
            guard bad == nil else { return }
            let seq = r.integer(0)
            count += 1
            if seq != expected {
                bad = (
                    seq > expected ? expected : seq,
                    seq > expected ? "events \(expected)...\(seq - 1) are missing" : "seq \(seq) appears out of order"
                )
                return
            }
            let type = r.text(2)
            let data = r.text(5)
            let hash = StoredEvent.hash(
                previous: previous, seq: seq, at: r.text(1), type: type, referral: r.string(3), actor: r.text(4),
                data: data)
            guard hash == r.string(6) else {
                bad = (seq, "the hash of event \(seq) does not match its content and the chain before it")
                return
            }
            // The worker index must match the data.
            if StoredEvent.worker(type: type, dataText: data) != r.string(7) {
                bad = (seq, "the worker index of event \(seq) does not match its data")
                return
            }
            // A checkpoint records the event just before it.
            if type == "log.checkpoint" {
                let parsed = JSONValue.parse(data) ?? .object([])
                if parsed["seq"]?.intValue != seq - 1 || parsed["hash"]?.stringValue != previous {
                    bad = (seq, "checkpoint \(seq) does not record the event before it")
                    return
                }
            }
            if let c = checkpoint, c.seq == seq {
                seenCheckpoint = true
                if c.hash != hash {
                    bad = (seq, "event \(seq) does not have the hash of the checkpoint kept elsewhere")
                }
            }
            previous = hash
            expected = seq + 1
        }
        if bad == nil, let c = checkpoint, !seenCheckpoint {
            bad = (
                expected,
                "the log ends at seq \(expected - 1), but a checkpoint at seq \(c.seq) was kept: events have been removed from the end"
            )
        }
        return VerifyReport(
            events: count, headSeq: expected - 1, headHash: previous, firstBadSeq: bad?.0, problem: bad?.1)
    }
}
