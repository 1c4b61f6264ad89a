/* park.h — parking streamed responses that have nothing to send yet. A content reader with no
 * data suspends its connection here and returns 0; one waker thread resumes the connection
 * after a delay, and MHD calls the reader again. A waiting log follower therefore holds no
 * server thread, and the rest of that thread's connections keep being served.
 *
 * park_start() before the daemon serves; park_stop() before MHD_stop_daemon() (it resumes
 * every parked connection, as MHD requires, and makes park_stopping() true so readers end). */
#ifndef SLUICE_API_PARK_H
#define SLUICE_API_PARK_H

#include <stdbool.h>

struct MHD_Connection;

/* Starts the waker thread. Returns 0 or -1. */
int park_start(void);
/* Resumes every parked connection and joins the waker; no-op when not started. */
void park_stop(void);
/* Suspends conn (call it from its content reader, which then returns 0) and resumes it after
 * delay_ms. Returns 0, or -1 when stopping (the reader should end its stream instead). */
int park_connection(struct MHD_Connection *conn, unsigned delay_ms);
/* True once park_stop() has begun. */
bool park_stopping(void);
/* Connections parked right now (for /metrics and tests). */
unsigned park_count(void);

#endif
