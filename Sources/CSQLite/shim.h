#include <sqlite3.h>

/// SQLITE_TRANSIENT is a macro Swift cannot import: SQLite copies the bound value.
static inline sqlite3_destructor_type duty_sqlite_transient(void) { return SQLITE_TRANSIENT; }

/// Turns off SQLite's memory statistics, which take a process-wide mutex on every allocation and free (a few per
/// statement). Only before SQLite is initialised, that is before the first connection opens; returns SQLITE_MISUSE
/// after, which changes nothing.
static inline int duty_sqlite_disable_memstatus(void) { return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); }

static int duty_wal_pages_hook(void *pages, sqlite3 *db, const char *name, int count) {
    (void)db;
    (void)name;
    *(int *)pages = count;
    return SQLITE_OK;
}

/// Records in `*pages` the number of frames in the write-ahead log after each commit, in place of SQLite's own
/// automatic checkpoint (which shares the hook): the caller checkpoints when it chooses.
static inline void duty_sqlite_track_wal(sqlite3 *db, int *pages) { sqlite3_wal_hook(db, duty_wal_pages_hook, pages); }

/// Keeps SQLite's memory statistics on for this process (for `sqlite3_memory_used`, as the soak test reads it):
/// sets the option and initialises SQLite, so that `duty_sqlite_disable_memstatus` afterwards changes nothing.
static inline int duty_sqlite_keep_memstatus(void) {
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 1);
    return sqlite3_initialize();
}
