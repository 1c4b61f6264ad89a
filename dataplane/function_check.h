/* function_check.h — `sluiced worker` with a spec of kind "function": defines one user-defined
 * function as a plan would (sql_function_define: its Lua source loaded, its top-level code run
 * under the Lua budget), for the api's POST/PATCH /v1/functions, which starts it in the workers'
 * sandbox (api/worker_child.h) so that tenant code never runs in the api process.
 *
 * Spec (stdin, read by worker_main):
 *   {"kind":"function", "name": "...", "returns": "BIGINT", "source": "...",
 *    "sandbox": {"seccomp": bool}}
 * Output (stdout), one line:
 *   {"type":"function","aggregate":bool,"merge":bool}    it loads (merge: an aggregate's table
 *                                                         has merge); the api stores these
 *                                                         facts and plans from them
 *   {"type":"function","error":"..."}       it does not (sql_function_define's message) */
#ifndef SLUICE_DATAPLANE_FUNCTION_CHECK_H
#define SLUICE_DATAPLANE_FUNCTION_CHECK_H

#include <jansson.h>
#include <stddef.h>

/* The worker's side: the answer written as the line above. 0, or -1 with err when the spec is
 * unusable (a field missing). */
int function_check_worker_run(json_t *spec, char *err, size_t errlen);

#endif
