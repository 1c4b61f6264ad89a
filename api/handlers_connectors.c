/* handlers_connectors.c — the connectors and their options, from the backends' own facts
 * (dataplane/stream.h). */
#include "api/handlers_connectors.h"

#include "common/options.h"
#include "dataplane/stream.h"

static const char *const option_type_names[] = {
    [OPTION_STRING] = "string", [OPTION_INT] = "integer",       [OPTION_BOOL] = "boolean", [OPTION_DOUBLE] = "number",
    [OPTION_ENUM] = "enum",     [OPTION_DURATION] = "duration", [OPTION_SIZE] = "size",
};

static json_t *option_json(const struct option_row *o)
{
    json_t *j = json_pack("{s:s, s:s, s:b, s:b}", "name", o->name, "type", option_type_names[o->type], "required",
                          (o->flags & OPTION_REQUIRED) != 0, "prefix", (o->flags & OPTION_PREFIX) != 0);
    if (!j)
        return NULL;
    if (o->def)
        json_object_set_new(j, "default", json_string(o->def));
    if (o->help)
        json_object_set_new(j, "help", json_string(o->help));
    if (o->type == OPTION_INT) {
        json_object_set_new(j, "minimum", json_integer(o->min));
        json_object_set_new(j, "maximum", json_integer(o->max));
    }
    if (o->type == OPTION_ENUM && o->values) {
        json_t *values = json_array();
        for (const char *const *v = o->values; *v; v++)
            json_array_append_new(values, json_string(*v));
        json_object_set_new(j, "values", values);
    }
    return j;
}

static json_t *connector_json(const char *name, const struct stream_backend *b)
{
    json_t *options = json_array();
    for (size_t i = 0; b->options && i < b->options->n; i++) {
        const struct option_row *o = &b->options->rows[i];
        if (!(o->flags & OPTION_HIDDEN))
            json_array_append_new(options, option_json(o));
    }
    json_t *types = json_array();
    if (b->source)
        json_array_append_new(types, json_string("source"));
    if (b->sink)
        json_array_append_new(types, json_string("sink"));
    return json_pack("{s:s, s:o, s:o}", "name", name, "types", types, "options", options);
}

int connectors_list(struct api_request *req, struct api_response *resp)
{
    (void)req;
    json_t *items = json_array();
    const struct stream_backend *b;
    for (size_t i = 0; stream_connector_name(i); i++)
        if (stream_connector_find(stream_connector_name(i), &b) == 0 && b)
            json_array_append_new(items, connector_json(stream_connector_name(i), b));
    return api_reply(resp, 200, json_pack("{s:o}", "items", items));
}
