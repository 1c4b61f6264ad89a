/* sluice.h — libsluice, the C client of the Sluice REST API (being built: see issue 5). */
#ifndef SLUICE_SDK_SLUICE_H
#define SLUICE_SDK_SLUICE_H

/* Version string of the library. */
const char *sluice_version(void);

#endif
