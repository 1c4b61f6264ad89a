/* sluice.c — libsluice. */
#include "sdk/sluice.h"

const char *sluice_version(void) { return "0.1.0"; }
