/* console.c — the web console's static files: GET / answers index.html and GET /ui/<file>
 * (and /ui/vendor/<file>) the other files of the console's directory, with a strict
 * Content-Security-Policy. Only plain names are served (letters, digits, '.', '-', '_', not
 * starting with '.'), opened without following symlinks, regular files of at most 4 MiB. */
#include "api/console.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CONSOLE_MAX_FILE (4L << 20)

static const char *console_dir;

void console_set_dir(const char *dir) { console_dir = dir; }

const char *console_csp(void)
{
    return "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
           "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
}

static const char *console_type(const char *name)
{
    static const struct {
        const char *ext, *type;
    } types[] = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".mjs", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".ico", "image/x-icon"},
        {".json", "application/json"},
    };
    const char *dot = strrchr(name, '.');
    for (size_t i = 0; dot && i < sizeof types / sizeof types[0]; i++)
        if (strcmp(dot, types[i].ext) == 0)
            return types[i].type;
    return NULL;
}

static int console_plain_name(const char *name)
{
    size_t n = strlen(name);
    return n > 0 && n <= 128 && name[0] != '.' &&
           strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_") == n;
}

/* The whole file sub/name under the console directory, malloc'd and NUL-terminated, or NULL. */
static char *console_read(const char *sub, const char *name, size_t *len)
{
    int dir = open(console_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0)
        return NULL;
    if (sub) {
        int d = openat(dir, sub, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        close(dir);
        if (d < 0)
            return NULL;
        dir = d;
    }
    int fd = openat(dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    close(dir);
    struct stat st;
    char *buf = NULL;
    if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size <= CONSOLE_MAX_FILE &&
        (buf = malloc((size_t)st.st_size + 1)) != NULL) {
        ssize_t got = read(fd, buf, (size_t)st.st_size);
        if (got != st.st_size) {
            free(buf);
            buf = NULL;
        } else {
            buf[got] = '\0';
            *len = (size_t)got;
        }
    }
    if (fd >= 0)
        close(fd);
    return buf;
}

static int console_send(struct api_response *resp, const char *sub, const char *name)
{
    const char *type = console_type(name);
    if (!console_dir || !console_plain_name(name) || !type)
        return api_fail(resp, API_NOT_FOUND, NULL, "no such file: %s", name);
    size_t len = 0;
    char *text = console_read(sub, name, &len);
    if (!text)
        return api_fail(resp, API_NOT_FOUND, NULL, "no such file: %s", name);
    if (strlen(text) != len) { /* binary files are not part of the console */
        free(text);
        return api_fail(resp, API_NOT_FOUND, NULL, "no such file: %s", name);
    }
    resp->status = 200;
    resp->text_body = text;
    resp->content_type = type;
    resp->csp = console_csp();
    return 0;
}

int console_index(struct api_request *req, struct api_response *resp)
{
    (void)req;
    return console_send(resp, NULL, "index.html");
}

int console_file(struct api_request *req, struct api_response *resp)
{
    return console_send(resp, NULL, req->params.count > 0 ? req->params.values[0] : "");
}

int console_vendor_file(struct api_request *req, struct api_response *resp)
{
    return console_send(resp, "vendor", req->params.count > 0 ? req->params.values[0] : "");
}
