/* clock.h — milliseconds from the monotonic clock (timers, deadlines) and the wall clock
 * (timestamps stored in the database), shared by the controlplane's modules. */
#ifndef SLUICE_CONTROLPLANE_CLOCK_H
#define SLUICE_CONTROLPLANE_CLOCK_H

#include <stdint.h>

int64_t clock_mono_ms(void);
int64_t clock_wall_ms(void);

#endif
