/* tenant_storage.h — a tenant's stream data under the data root, as the api sees it:
 * <data-root>/tenants/<tenant>/streams/<stream>/<partition>/ (the embedded log's format,
 * dataplane/log/). Making a stream's directories when it is created, and measuring the bytes
 * the tenant's streams hold against its plan's storage quota (plans.max_storage_bytes).
 *
 * The measurement (dataplane/log/log_stream.h: seglog_streams_bytes, the sum of segment file
 * sizes) lists every partition, so it is cached per tenant in this process for
 * TENANT_STORAGE_CACHE_MS and bumped by what this process writes in between. Other writers
 * (workers, other api processes) show up at the next measurement. */
#ifndef SLUICE_API_TENANT_STORAGE_H
#define SLUICE_API_TENANT_STORAGE_H

#include <stddef.h>
#include <stdint.h>

#define TENANT_STORAGE_CACHE_MS 2000
#define TENANT_STORAGE_CACHE_SLOTS 256

/* Makes the tenant's directories as the controlplane does (tenants/ 0711, tenants/<t> and its
 * streams/ 0700: no other tenant's worker may look in). 0, or -1 with err. */
int tenant_storage_dirs(const char *root, const char *tenant, char *err, size_t errlen);
/* Makes every partition directory (0 .. partitions-1) of the stream, through the embedded
 * log's backend, so no partition is ever missing (a gap a reader would fail on). Existing ones
 * are left as they are. 0, or -1 with err. */
int tenant_storage_create_stream(const char *root, const char *tenant, const char *stream_id, int partitions, char *err,
                                 size_t errlen);
/* Bytes of stream data the tenant holds (cached, see above). 0, or -1 with err. */
int tenant_storage_used(const char *root, const char *tenant, uint64_t *bytes, char *err, size_t errlen);
/* Adds bytes this process just wrote for the tenant to its cached measurement. */
void tenant_storage_wrote(const char *tenant, uint64_t bytes);

#endif
