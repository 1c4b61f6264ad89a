/* connection_check.c — the worker's connection check (see connection_check.h). */
#include "dataplane/connection_check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "dataplane/schema_infer.h"

#define CHECK_MAX_PROPS 256
#define CHECK_SAMPLE_MAX 1000     /* records a check samples at most */
#define CHECK_SAMPLE_WAIT_MS 5000 /* how long it waits for them (the api kills it at 15 s) */

/* Appends obj's string members to props (from *n on). */
static void check_props_add(json_t *obj, struct stream_property *props, int *n)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        if (*n < CHECK_MAX_PROPS && json_is_string(v))
            props[(*n)++] = (struct stream_property){key, json_string_value(v)};
    }
}

int connection_check_spec(json_t *spec, struct stream_check *out, char *err, size_t errlen)
{
    const char *name = json_string_value(json_object_get(spec, "connector"));
    const struct stream_backend *b = NULL;
    if (!name || stream_connector_find(name, &b) != 0 || !b) {
        snprintf(err, errlen, "connector \"%s\" is not known to this worker", name ? name : "");
        return -1;
    }
    memset(out, 0, sizeof *out);
    if (!b->check) { /* nothing to reach (datagen) */
        out->reachable = out->authenticated = out->target_present = true;
        return 0;
    }
    struct stream_property *props = calloc(CHECK_MAX_PROPS, sizeof *props);
    if (!props) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int n = 0;
    check_props_add(json_object_get(spec, "properties"), props, &n);
    check_props_add(json_object_get(spec, "secrets"), props, &n);
    b->check(props, n, out);
    free(props);
    return 0;
}

/* Reads up to n records of partition 0 of the source from its start into s, for at most
 * CHECK_SAMPLE_WAIT_MS. 0, or -1 with err. */
static int check_sample_read(const struct stream_backend *b, const struct stream_property *props, int nprops, int n,
                             struct schema_infer *s, char *err, size_t errlen)
{
    const char *location = b->location_key ? stream_property_get(props, nprops, b->location_key) : "";
    void *reader = NULL;
    uint64_t offset = 0;
    if (b->open_reader(location ? location : "", 0, 0, props, nprops, &reader, err, errlen) != 0)
        return -1;
    int rc = b->start_offset ? b->start_offset(reader, &offset, err, errlen) : 0;
    struct stream_record recs[64];
    int64_t deadline = clock_mono_ms() + CHECK_SAMPLE_WAIT_MS;
    for (int got = 0; rc == 0 && got < n && clock_mono_ms() < deadline;) {
        int k = b->read(reader, recs, n - got < 64 ? n - got : 64, err, errlen);
        if (k < 0)
            rc = -1;
        for (int i = 0; i < k; i++)
            schema_infer_add(s, recs[i].data, recs[i].len);
        got += k > 0 ? k : 0;
        if (k == 0)
            usleep(20000);
    }
    b->close_reader(reader);
    return rc;
}

/* With "sample": N in spec, a source's first N records (at most) and the schema they propose,
 * added to o: "sampled", "proposed_schema" (absent when none was a JSON object with a field),
 * or "sample_error". */
static void check_sample(json_t *spec, json_t *o, bool reached)
{
    int n = (int)json_integer_value(json_object_get(spec, "sample"));
    const char *name = json_string_value(json_object_get(spec, "connector"));
    const struct stream_backend *b = NULL;
    if (n <= 0 || !name || stream_connector_find(name, &b) != 0 || !b)
        return;
    if (!b->source || !b->open_reader) {
        json_object_set_new(o, "sample_error",
                            json_string("the connector is not a source: there is nothing to sample"));
        return;
    }
    /* a reader that takes records from the server's consumer (acknowledged later, or queued for
     * a persistent MQTT session) would take them from the connection's own task */
    if (b->acknowledge || strcmp(name, "mqtt") == 0) {
        json_object_set_new(o, "sample_error",
                            json_string("sampling this connector would take records from the connection's own "
                                        "consumer; give the stream's schema yourself"));
        return;
    }
    if (!reached) {
        json_object_set_new(o, "sample_error", json_string("the source was not reached: there is nothing to sample"));
        return;
    }
    struct stream_property *props = calloc(CHECK_MAX_PROPS, sizeof *props);
    struct schema_infer *s = schema_infer_new();
    char err[512] = "out of memory";
    int nprops = 0;
    if (props && s) {
        check_props_add(json_object_get(spec, "properties"), props, &nprops);
        check_props_add(json_object_get(spec, "secrets"), props, &nprops);
    }
    if (!props || !s ||
        check_sample_read(b, props, nprops, n > CHECK_SAMPLE_MAX ? CHECK_SAMPLE_MAX : n, s, err, sizeof err) != 0)
        json_object_set_new(o, "sample_error", json_string(err));
    if (s) {
        json_object_set_new(o, "sampled",
                            json_integer((json_int_t)(schema_infer_records(s) + schema_infer_skipped(s))));
        json_t *proposal = schema_infer_json(s);
        if (proposal)
            json_object_set_new(o, "proposed_schema", proposal);
    }
    schema_infer_free(s);
    free(props);
}

int connection_check_worker_run(json_t *spec, char *err, size_t errlen)
{
    struct stream_check c;
    if (connection_check_spec(spec, &c, err, errlen) != 0)
        return -1;
    json_t *o = json_pack("{s:s,s:b,s:b,s:b}", "type", "check", "reachable", c.reachable, "authenticated",
                          c.authenticated, "target_present", c.target_present);
    if (o && c.error[0])
        json_object_set_new(o, "error", json_string(c.error));
    if (o)
        check_sample(spec, o, c.reachable && c.authenticated);
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!text) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    printf("%s\n", text);
    fflush(stdout);
    free(text);
    return 0;
}
