/* crc32c.h — CRC-32C (Castagnoli), the checksum of the embedded log's record frames. */
#ifndef SLUICE_DATAPLANE_LOG_CRC32C_H
#define SLUICE_DATAPLANE_LOG_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* CRC-32C of data[0..len), continuing from crc (pass 0 to start). */
uint32_t crc32c(uint32_t crc, const void *data, size_t len);
/* The same, always through the portable table code (for tests of the hardware path). */
uint32_t crc32c_portable(uint32_t crc, const void *data, size_t len);

#endif
