/* signals.c — blocks the stop signals for a sigwait() loop (signals.h). */
#include "common/signals.h"

#include <pthread.h>

void signals_block_stop(sigset_t *stop)
{
    sigemptyset(stop);
    sigaddset(stop, SIGTERM);
    sigaddset(stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, stop, NULL);
}
