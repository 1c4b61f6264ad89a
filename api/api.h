/* api.h — entry point of `sluiced api`. */
#ifndef SLUICE_API_API_H
#define SLUICE_API_API_H

#include <stddef.h>

struct api_route;

/* Runs the api command with its own argv (argv[0] is "api"); returns the exit status. */
int api_main(int argc, char **argv);
/* The route table (static): what the server answers; tests hold openapi.json to it. */
const struct api_route *api_route_table(size_t *n);

#endif
