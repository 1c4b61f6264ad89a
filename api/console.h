/* console.h — the web console's static files (web/, built into build/web by make build),
 * served by the api at / and /ui/<file>, same origin as the API. No server-side templates:
 * the pages are plain HTML, CSS and JavaScript modules that call the REST API. */
#ifndef SLUICE_API_CONSOLE_H
#define SLUICE_API_CONSOLE_H

#include "api/http.h"

/* The directory the files are read from (borrowed; NULL serves nothing: 404). */
void console_set_dir(const char *dir);
/* The Content-Security-Policy sent with the console's files: no inline script or style, same
 * origin only, never framed. Static string. */
const char *console_csp(void);

/* Handlers: GET / (index.html), GET /ui/{file}, GET /ui/vendor/{file}. */
int console_index(struct api_request *req, struct api_response *resp);
int console_file(struct api_request *req, struct api_response *resp);
int console_vendor_file(struct api_request *req, struct api_response *resp);

#endif
