/* fs.h — directories under a tenant's folder, made and owned without following symlinks.
 *
 * The api and the controlplane run as root and create or chown directories inside folders a
 * tenant's worker can write (its uid owns tenants/<tenant>/): a symlink the tenant planted
 * there must never lead them elsewhere on the host. */
#ifndef SLUICE_COMMON_FS_H
#define SLUICE_COMMON_FS_H

#include <stddef.h>
#include <sys/types.h>

/* Makes each '/'-separated component of rel below the directory root (mode 0700 when created),
 * opening every one with O_NOFOLLOW, so a symlink anywhere in rel is refused (ELOOP/ENOTDIR).
 * When running as root, the last own_last components are chowned to uid:uid through their
 * descriptors. Returns an O_DIRECTORY descriptor of the last component (the caller closes it),
 * or -1 with err filled. */
int fs_mkdir_beneath(const char *root, const char *rel, int own_last, uid_t uid, char *err, size_t errsz);

#endif
