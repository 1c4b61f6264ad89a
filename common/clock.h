/* clock.h — milliseconds from the monotonic clock (timers, deadlines) and the wall clock
 * (timestamps stored in the database), one clock for every subsystem. */
#ifndef SLUICE_COMMON_CLOCK_H
#define SLUICE_COMMON_CLOCK_H

#include <stdint.h>

int64_t clock_mono_ms(void);
int64_t clock_wall_ms(void);

#endif
