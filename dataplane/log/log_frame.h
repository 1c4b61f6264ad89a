/* log_frame.h — the embedded log's frame format, shared by log.c and log_compact.c (internal to
 * dataplane/log/; everything here is static inline).
 *
 * A record frame is [u32 length][u32 crc32c of the payload][payload], little-endian, length at
 * most LOG_MAX_RECORD. Compaction replaces a run of removed records by a gap frame
 * [u32 LOG_GAP_MARK][u32 crc32c of the count][u64 count]: the count offsets it stands for, so
 * an offset stays a record's index in the partition. A gap frame never appears in an
 * uncompacted segment. */
#ifndef SLUICE_DATAPLANE_LOG_LOG_FRAME_H
#define SLUICE_DATAPLANE_LOG_LOG_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "dataplane/log/crc32c.h"
#include "dataplane/log/log.h"

#define LOG_FRAME_HEADER 8
#define LOG_GAP_MARK 0xFFFFFFFFu
#define LOG_GAP_FRAME 16

enum seglog_frame_status { LOG_FRAME_PARTIAL, LOG_FRAME_BAD, LOG_FRAME_RECORD, LOG_FRAME_GAP };

static inline uint32_t seglog_get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline void seglog_put_u32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

static inline uint64_t seglog_get_u64(const unsigned char *p)
{
    return (uint64_t)seglog_get_u32(p) | (uint64_t)seglog_get_u32(p + 4) << 32;
}

static inline void seglog_put_u64(unsigned char *p, uint64_t v)
{
    seglog_put_u32(p, (uint32_t)v);
    seglog_put_u32(p + 4, (uint32_t)(v >> 32));
}

/* Bytes of the frame whose length field is len (0 for an invalid length). */
static inline size_t seglog_frame_size(uint32_t len)
{
    if (len == LOG_GAP_MARK)
        return LOG_GAP_FRAME;
    return len <= LOG_MAX_RECORD ? LOG_FRAME_HEADER + (size_t)len : 0;
}

/* Checks the frame at p[0..have): LOG_FRAME_PARTIAL when more bytes are needed, LOG_FRAME_BAD
 * for a bad length or checksum, else the kind of frame with *size its bytes and *count the
 * offsets it spans (1 for a record). */
static inline enum seglog_frame_status seglog_frame_check(const unsigned char *p, size_t have, size_t *size,
                                                          uint64_t *count)
{
    if (have < LOG_FRAME_HEADER)
        return LOG_FRAME_PARTIAL;
    uint32_t len = seglog_get_u32(p), crc = seglog_get_u32(p + 4);
    size_t n = seglog_frame_size(len);
    if (n == 0)
        return LOG_FRAME_BAD;
    if (have < n)
        return LOG_FRAME_PARTIAL;
    if (crc32c(0, p + LOG_FRAME_HEADER, n - LOG_FRAME_HEADER) != crc)
        return LOG_FRAME_BAD;
    *size = n;
    *count = len == LOG_GAP_MARK ? seglog_get_u64(p + LOG_FRAME_HEADER) : 1;
    if (*count == 0)
        return LOG_FRAME_BAD;
    return len == LOG_GAP_MARK ? LOG_FRAME_GAP : LOG_FRAME_RECORD;
}

#endif
