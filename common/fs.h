/* fs.h — directories under a tenant's folder, made and owned without following symlinks.
 *
 * The api and the controlplane run as root and create or chown directories inside folders a
 * tenant's worker can write (its uid owns tenants/<tenant>/): a symlink the tenant planted
 * there must never lead them elsewhere on the host. */
#ifndef SLUICE_COMMON_FS_H
#define SLUICE_COMMON_FS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Makes each '/'-separated component of rel below the directory root (mode 0700 when created),
 * opening every one with O_NOFOLLOW, so a symlink anywhere in rel is refused (ELOOP/ENOTDIR).
 * When running as root, the last own_last components are chowned to uid:uid through their
 * descriptors. Returns an O_DIRECTORY descriptor of the last component (the caller closes it),
 * or -1 with err filled. */
int fs_mkdir_beneath(const char *root, const char *rel, int own_last, uid_t uid, char *err, size_t errsz);

/* Opens the directory root/rel, each '/'-separated component of rel with O_NOFOLLOW, so a symlink
 * anywhere below root is refused (ELOOP/ENOTDIR) and the descriptor pins the directory it found:
 * paths through fs_fd_path() of it cannot be sent elsewhere by a symlink planted later. With
 * create, a missing component is made (mode 0755; when running as root, owned like the directory
 * it is in, so a tree the api extends under a tenant's directory stays the tenant's). Returns an
 * O_DIRECTORY descriptor (the caller closes it), or -1 with errno kept and err filled. */
int fs_open_dir_below(const char *root, const char *rel, bool create, char *err, size_t errsz);

/* Removes the directory path and everything in it, depth first, through descriptors: a symlink
 * is removed itself, never followed, and a directory swapped for a symlink meanwhile is not
 * entered (nftw() walks by path, which a tenant racing it could send elsewhere). Subdirectories
 * deeper than 64 levels are left. 0, or -1 with errno. */
int fs_remove_tree(const char *path);

/* "/proc/self/fd/<fd>" into out: a path of the directory fd itself, for code that takes paths. */
void fs_fd_path(int fd, char *out, size_t outlen);

/* The directory of a tenant's files, <data_root>/tenants/<tenant>/files, into out: where the
 * paths of its filesystem connections are (stream_backend.tenant_files). */
void fs_tenant_files_dir(const char *data_root, const char *tenant, char *out, size_t outlen);

/* Opens rel below the directory dirfd (openat2 with RESOLVE_BENEATH): ".." or a symlink that
 * leads out of dirfd, or an absolute rel, fails (EXDEV), symlinks that stay inside are
 * followed. flags as open(2) (O_CLOEXEC is added); returns the descriptor, or -1 with errno. */
int fs_open_beneath(int dirfd, const char *rel, int flags, mode_t mode);

/* A tenant's path (a filesystem connection's "path": relative to root, or absolute inside root;
 * "file://" in front is dropped) as a path relative to root into rel ("." for root itself).
 * -1 with err when it is outside root or has a ".." component. Looks at no file. */
int fs_path_inside(const char *root, const char *path, char *rel, size_t relsz, char *err, size_t errsz);

/* Whether rel (from fs_path_inside) resolves beneath root as the files are now: -1 with err when
 * a symlink in the part of it that exists leads out of root, or root itself is a symlink; 0
 * otherwise (also when root or rel do not exist yet). */
int fs_path_check_beneath(const char *root, const char *rel, char *err, size_t errsz);

#endif
