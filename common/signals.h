/* signals.h — the stop signals of a long-running process (sluiced api, test tools): blocked in
 * every thread and taken with sigwait() by the main one. */
#ifndef SLUICE_COMMON_SIGNALS_H
#define SLUICE_COMMON_SIGNALS_H

#include <signal.h>

/* Fills *stop with SIGTERM and SIGINT and blocks them in the calling thread (threads started
 * after inherit the mask), so that sigwait(stop, ...) receives them. */
void signals_block_stop(sigset_t *stop);

#endif
