#include <sqlite3.h>

/// SQLITE_TRANSIENT is a macro Swift cannot import: SQLite copies the bound value.
static inline sqlite3_destructor_type duty_sqlite_transient(void) { return SQLITE_TRANSIENT; }

/// Turns off SQLite's memory statistics, which take a process-wide mutex on every allocation and free (a few per
/// statement). Only before SQLite is initialised, that is before the first connection opens; returns SQLITE_MISUSE
/// after, which changes nothing.
static inline int duty_sqlite_disable_memstatus(void) { return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); }
