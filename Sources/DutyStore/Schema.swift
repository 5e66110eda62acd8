/// The database schema, by `user_version`. Each migration runs once, in order, in one transaction.
enum Schema {
    static let migrations: [String] = [
        // 1: the log and the projections.
        """
        CREATE TABLE events (
            seq INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            type TEXT NOT NULL,
            referral TEXT,
            actor TEXT NOT NULL,
            data TEXT NOT NULL,
            hash TEXT NOT NULL,
            worker TEXT
        );
        CREATE INDEX events_referral ON events(referral, seq) WHERE referral IS NOT NULL;
        CREATE INDEX events_type ON events(type, seq);
        CREATE INDEX events_at ON events(at, seq);
        CREATE INDEX events_worker ON events(worker, seq) WHERE worker IS NOT NULL;
        CREATE TRIGGER events_no_update BEFORE UPDATE ON events
            BEGIN SELECT RAISE(ABORT, 'the allocation log is append-only: events cannot be changed'); END;
        CREATE TRIGGER events_no_delete BEFORE DELETE ON events
            BEGIN SELECT RAISE(ABORT, 'the allocation log is append-only: events cannot be deleted'); END;

        CREATE TABLE referrals (
            id TEXT PRIMARY KEY,
            person TEXT NOT NULL,
            kind TEXT NOT NULL,
            team TEXT,
            received REAL NOT NULL,
            flags TEXT NOT NULL,
            facts TEXT NOT NULL,
            complexity INTEGER NOT NULL,
            skills TEXT NOT NULL,
            source TEXT,
            content TEXT NOT NULL,
            state TEXT NOT NULL,
            needs_rating INTEGER NOT NULL,
            policy TEXT, policy_version TEXT, level TEXT, rank INTEGER, rules TEXT, due REAL, rated REAL,
            pin_level TEXT, pin_rank INTEGER, pin_policy_rank INTEGER,
            worker TEXT, manager TEXT, fallback INTEGER, allocated REAL, alloc_due REAL,
            acknowledged REAL, ack_by TEXT,
            blocked TEXT, last_review REAL, closed REAL
        );
        CREATE INDEX referrals_waiting ON referrals(state, rank DESC, due, received, id);
        CREATE INDEX referrals_worker ON referrals(worker) WHERE worker IS NOT NULL;

        CREATE TABLE absences (
            id TEXT PRIMARY KEY, worker TEXT NOT NULL, start REAL NOT NULL, finish REAL NOT NULL,
            reason TEXT, by TEXT, ended REAL
        );
        CREATE INDEX absences_worker ON absences(worker);

        CREATE TABLE escalations (
            referral TEXT NOT NULL, reason TEXT NOT NULL, position INTEGER NOT NULL, to_person TEXT, at REAL NOT NULL,
            seq INTEGER NOT NULL,
            PRIMARY KEY (referral, reason, position)
        );
        CREATE INDEX escalations_to ON escalations(to_person);

        CREATE TABLE last_worker (person TEXT PRIMARY KEY, worker TEXT NOT NULL);
        """,
        // 2: spool files whose rejections are logged, so a file read again after a crash is not logged twice.
        """
        CREATE TABLE intake_files (file_id TEXT PRIMARY KEY, seq INTEGER NOT NULL);
        """,
        // 3: intake compares a referral's fields, so the copy of the record as canonical JSON is not kept; the
        // open referrals are found by state alone (a new referral's entry goes at the end of its state's run, and
        // re-rating does not move it), and the waiting list is sorted when it is read.
        """
        ALTER TABLE referrals DROP COLUMN content;
        DROP INDEX referrals_waiting;
        CREATE INDEX referrals_state ON referrals(state);
        """,
        // 4: the worker whose room is held for a blocked referral (`allocation.blocked`'s `held_on`).
        """
        ALTER TABLE referrals ADD COLUMN held_on TEXT;
        """,
        // 5: the outbox: notifications written with the events they report, sent and retried by the daemon.
        """
        CREATE TABLE outbox (
            id INTEGER PRIMARY KEY, created REAL NOT NULL, recipient TEXT, body TEXT NOT NULL,
            attempts INTEGER NOT NULL, next_attempt REAL NOT NULL, sent REAL, last_error TEXT
        );
        CREATE INDEX outbox_unsent ON outbox(id) WHERE sent IS NULL;
        """,
        // 6: teams with a `capacity.exceeded` alert standing.
        """
        CREATE TABLE capacity_alerts (team TEXT PRIMARY KEY, since REAL NOT NULL, seq INTEGER NOT NULL);
        """,
        // 7: the worker a manager took a referral back from: the engine does not give it back to them.
        """
        ALTER TABLE referrals ADD COLUMN unassigned_from TEXT;
        """,
        // 8: the case system: the cursor each source was read to (`source.page`), and outbox channels (NULL for
        // notifications; `write_back.dir`, `write_back.url` for decisions).
        """
        CREATE TABLE source_cursors (source TEXT PRIMARY KEY, cursor TEXT NOT NULL, seq INTEGER NOT NULL);
        ALTER TABLE outbox ADD COLUMN channel TEXT;
        """,
    ]

    /// The projection tables: what `rebuild` empties and refills from the log.
    static let projections = [
        "referrals", "absences", "escalations", "last_worker", "intake_files", "capacity_alerts", "source_cursors",
    ]
}
