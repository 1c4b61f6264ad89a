/* fs.c — directories below a root without following symlinks (see fs.h). */
#include "common/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FS_MAX_COMPONENTS 16

int fs_mkdir_beneath(const char *root, const char *rel, int own_last, uid_t uid, char *err, size_t errsz)
{
    char copy[1024];
    if (snprintf(copy, sizeof copy, "%s", rel) >= (int)sizeof copy) {
        snprintf(err, errsz, "path too long");
        return -1;
    }
    char *parts[FS_MAX_COMPONENTS], *save = NULL;
    int n = 0;
    for (char *p = strtok_r(copy, "/", &save); p; p = strtok_r(NULL, "/", &save)) {
        if (n == FS_MAX_COMPONENTS || strcmp(p, "..") == 0 || strcmp(p, ".") == 0) {
            snprintf(err, errsz, "bad path %s", rel);
            return -1;
        }
        parts[n++] = p;
    }
    int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errsz, "%s: %s", root, strerror(errno));
        return -1;
    }
    for (int i = 0; i < n; i++) {
        if (mkdirat(fd, parts[i], 0700) != 0 && errno != EEXIST) {
            snprintf(err, errsz, "creating %s in %s: %s", parts[i], rel, strerror(errno));
            close(fd);
            return -1;
        }
        int next = openat(fd, parts[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        close(fd);
        if (next < 0) {
            snprintf(err, errsz, "%s in %s: %s (a symlink or not a directory: refused)", parts[i], rel,
                     strerror(errno));
            return -1;
        }
        fd = next;
        if (i >= n - own_last && geteuid() == 0 && fchown(fd, uid, uid) != 0) {
            snprintf(err, errsz, "chown %s: %s", rel, strerror(errno));
            close(fd);
            return -1;
        }
    }
    return fd;
}
