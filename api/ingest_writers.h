/* ingest_writers.h — the api's cache of open log writers for HTTP ingest, so a request to a
 * busy stream appends to an already recovered writer instead of opening (and re-scanning the
 * active segment of) the partition every time.
 *
 * Entries are keyed by partition directory; each has its own mutex, so requests to one
 * partition serialize and requests to others run in parallel. An open writer holds the
 * partition's writer lock (LOG_LOCK_FILE) for as long as it is cached: an entry idle for
 * INGEST_WRITERS_IDLE_MS is closed by a background thread (checked every
 * INGEST_WRITERS_SWEEP_MS), so a pipeline or another process that wants to write the stream
 * gets the lock at most about 1.2 s after the last request. At most INGEST_WRITERS_MAX entries:
 * when full, the least recently used entry nobody is using is closed; when every entry is in
 * use, the writer is opened for this request only and closed after it. All entries are closed
 * by ingest_writers_shutdown(). */
#ifndef SLUICE_API_INGEST_WRITERS_H
#define SLUICE_API_INGEST_WRITERS_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

struct seglog_writer;

#define INGEST_WRITERS_MAX 64
/* Writers open at once in the api process (cached or not): past it, acquiring another waits
 * until the deadline, then answers INGEST_WRITERS_BUSY (the request is a 503). */
#define INGEST_WRITERS_OPEN_MAX 1024
#define INGEST_WRITERS_IDLE_MS 1000
#define INGEST_WRITERS_SWEEP_MS 200
#define INGEST_WRITERS_BUSY (-2) /* ingest_writers_acquire(): not available before the deadline */

struct ingest_writer_ref; /* one acquired entry; owned by the cache */

/* Takes the entry of partition dir, a directory below the data root root (waiting for other requests to it until
 * deadline, a CLOCK_REALTIME time) and makes sure its writer is open (retrying while another process holds the
 * partition, until deadline). 0 with *ref and *w set, INGEST_WRITERS_BUSY (err says who holds it) or -1 (err filled;
 * also when a directory below root is a symlink: the tenant's worker can write there, and the api, as root, must not
 * follow one). The writer belongs to the cache: use it until ingest_writers_release(*ref, ...). */
int ingest_writers_acquire(const char *root, const char *dir, const struct timespec *deadline,
                           struct ingest_writer_ref **ref, struct seglog_writer **w, char *err, size_t errlen);
/* Gives the entry back; failed = true closes its writer (the next request reopens and
 * recovers the partition). */
void ingest_writers_release(struct ingest_writer_ref *ref, bool failed);
/* Number of writers open in the cache now (for tests and logs). */
int ingest_writers_open_count(void);
/* Stops the idle sweeper and closes every cached writer. Call once no request runs. */
void ingest_writers_shutdown(void);

#endif
