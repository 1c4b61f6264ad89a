/* controlplane.h — entry point of `sluiced controlplane`. */
#ifndef SLUICE_CONTROLPLANE_CONTROLPLANE_H
#define SLUICE_CONTROLPLANE_CONTROLPLANE_H

/* Runs the controlplane command with its own argv (argv[0] is "controlplane"); returns the exit
 * status. */
int controlplane_main(int argc, char **argv);

#endif
