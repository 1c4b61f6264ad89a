/* fs.c — directories below a root without following symlinks (see fs.h). */
#include "common/fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
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

int fs_open_dir_below(const char *root, const char *rel, bool create, char *err, size_t errsz)
{
    char copy[1024], *save = NULL;
    if (snprintf(copy, sizeof copy, "%s", rel) >= (int)sizeof copy) {
        snprintf(err, errsz, "path too long");
        errno = ENAMETOOLONG;
        return -1;
    }
    int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errsz, "%s: %s", root, strerror(errno));
        return -1;
    }
    for (char *p = strtok_r(copy, "/", &save); p; p = strtok_r(NULL, "/", &save)) {
        bool made = create && strcmp(p, "..") != 0 && mkdirat(fd, p, 0755) == 0;
        int next = strcmp(p, "..") == 0 ? (errno = EINVAL, -1)
                                        : openat(fd, p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        int saved = errno;
        struct stat parent;
        if (next >= 0 && made && geteuid() == 0 && fstat(fd, &parent) == 0 && (parent.st_uid || parent.st_gid) &&
            fchown(next, parent.st_uid, parent.st_gid) != 0)
            saved = errno, close(next), next = -1;
        close(fd);
        if (next < 0) {
            snprintf(err, errsz, "%s in %s/%s: %s (a symlink or not a directory: refused)", p, root, rel,
                     strerror(saved));
            errno = saved;
            return -1;
        }
        fd = next;
    }
    return fd;
}

/* Removes everything in the directory dirfd (closed here), depth levels of subdirectories. */
static void fs_empty_dir(int dirfd, int depth)
{
    DIR *d = fdopendir(dirfd);
    if (!d) {
        close(dirfd);
        return;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 || unlinkat(dirfd, e->d_name, 0) == 0)
            continue;
        int sub = depth > 0 ? openat(dirfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) : -1;
        if (sub >= 0)
            fs_empty_dir(sub, depth - 1);
        unlinkat(dirfd, e->d_name, AT_REMOVEDIR);
    }
    closedir(d);
}

int fs_remove_tree(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : unlink(path);
    fs_empty_dir(fd, 64);
    return rmdir(path);
}

void fs_fd_path(int fd, char *out, size_t outlen) { snprintf(out, outlen, "/proc/self/fd/%d", fd); }

int fs_open_beneath(int dirfd, const char *rel, int flags, mode_t mode)
{
    struct open_how how = {.flags = (uint64_t)(flags | O_CLOEXEC),
                           .mode = flags & O_CREAT ? mode : 0,
                           .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS};
    return (int)syscall(SYS_openat2, dirfd, rel, &how, sizeof how);
}

/* path without a leading "file://" (Flink's form), or path. */
static const char *fs_strip_scheme(const char *path) { return strncmp(path, "file://", 7) == 0 ? path + 7 : path; }

int fs_path_inside(const char *root, const char *path, char *rel, size_t relsz, char *err, size_t errsz)
{
    const char *p = fs_strip_scheme(path);
    size_t rl = strlen(root);
    while (rl > 1 && root[rl - 1] == '/')
        rl--;
    if (*p == '/') {
        if (strncmp(p, root, rl) != 0 || (p[rl] != '/' && p[rl] != '\0')) {
            snprintf(err, errsz, "path \"%s\" is outside the tenant's files directory (give a path relative to it)",
                     path);
            return -1;
        }
        p += rl;
    }
    while (*p == '/')
        p++;
    for (const char *c = p; *c;) { /* no ".." component */
        size_t n = strcspn(c, "/");
        if (n == 2 && c[0] == '.' && c[1] == '.') {
            snprintf(err, errsz, "path \"%s\" may not contain \"..\"", path);
            return -1;
        }
        c += n;
        while (*c == '/')
            c++;
    }
    if (snprintf(rel, relsz, "%s", *p ? p : ".") >= (int)relsz) {
        snprintf(err, errsz, "path \"%s\" is too long", path);
        return -1;
    }
    size_t len = strlen(rel);
    while (len > 1 && rel[len - 1] == '/')
        rel[--len] = '\0';
    return 0;
}

int fs_path_check_beneath(const char *root, const char *rel, char *err, size_t errsz)
{
    int rootfd = open(root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (rootfd < 0 && errno != ENOENT) { /* the files directory itself a symlink, or no directory */
        snprintf(err, errsz, "the tenant's files directory %s: %s: refused", root, strerror(errno));
        return -1;
    }
    if (rootfd < 0)
        return 0; /* nothing there yet: nothing can lead out */
    char prefix[1024];
    snprintf(prefix, sizeof prefix, "%s", rel);
    int rc = 0;
    for (;;) { /* the longest existing prefix must resolve beneath root */
        int fd = fs_open_beneath(rootfd, prefix, O_PATH, 0);
        if (fd >= 0) {
            close(fd);
            break;
        }
        if (errno == EXDEV || errno == ELOOP) {
            snprintf(err, errsz, "path \"%s\" leads outside the tenant's files directory (a symlink): refused", rel);
            rc = -1;
            break;
        }
        char *slash = strrchr(prefix, '/');
        if (!slash)
            break;
        *slash = '\0';
    }
    close(rootfd);
    return rc;
}

void fs_tenant_files_dir(const char *data_root, const char *tenant, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s/tenants/%s/files", data_root, tenant);
}
