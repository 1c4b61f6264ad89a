/* api.h — entry point of `sluiced api`. */
#ifndef SLUICE_API_API_H
#define SLUICE_API_API_H

/* Runs the api command with its own argv (argv[0] is "api"); returns the exit status. */
int api_main(int argc, char **argv);

#endif
