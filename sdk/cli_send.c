/* cli_send.c — `sluice send` (see cli_send.h): NDJSON lines in, batches to
 * sluice_connection_send_events(), results and errors mapped back to line numbers. */
#include "sdk/cli_send.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sdk/cli_output.h"

struct send_run {
    struct cli *cli;
    sluice_client *client;
    const char *id, *name, *source; /* connection id and name; the input's name for messages */
    json_t *events;                 /* the batch being filled */
    long lines[CLI_SEND_BATCH];     /* the input line of each event of the batch */
    long accepted;                  /* over all batches sent */
    json_t *answers;                /* every batch's answer, for -o json|yaml */
};

static bool send_blank(const char *s)
{
    for (; *s; s++)
        if (*s != ' ' && *s != '\t' && *s != '\r' && *s != '\n')
            return false;
    return true;
}

static void send_print_batch(const struct send_run *r, json_t *answer)
{
    long n = (long)json_array_size(r->events);
    json_t *parts = json_object_get(answer, "partitions"), *p;
    size_t i;
    printf("lines %ld-%ld: accepted %lld", r->lines[0], r->lines[n - 1],
           (long long)json_integer_value(json_object_get(answer, "accepted")));
    json_array_foreach(parts, i, p)
    {
        json_t *off = json_object_get(p, "offsets");
        printf("%spartition %lld offsets %lld-%lld", i ? ", " : " (",
               (long long)json_integer_value(json_object_get(p, "partition")),
               (long long)json_integer_value(json_object_get(off, "first")),
               (long long)json_integer_value(json_object_get(off, "last")));
    }
    printf("%s\n", json_array_size(parts) ? ")" : "");
}

/* Prints the server's per-event reasons with the input's line numbers. */
static void send_print_invalid(const struct send_run *r, const struct sluice_error *err)
{
    json_t *details = json_loads(err->details, 0, NULL), *e;
    size_t i;
    json_array_foreach(json_object_get(details, "errors"), i, e)
    {
        json_int_t index = json_integer_value(json_object_get(e, "index"));
        const char *field = json_string_value(json_object_get(e, "field"));
        long line = index >= 0 && index < (json_int_t)json_array_size(r->events) ? r->lines[index] : -1;
        fprintf(stderr, "  %s:%ld: %s%s%s\n", r->source, line, field ? field : "", field ? ": " : "",
                json_string_value(json_object_get(e, "reason")));
    }
    json_decref(details);
}

static void send_note_sent_before(const struct send_run *r)
{
    if (r->accepted)
        fprintf(stderr, "sluice: %ld event%s sent before this stay written\n", r->accepted,
                r->accepted == 1 ? "" : "s");
}

/* Sends the batch and empties it. Returns 0 or an exit code. */
static int send_flush(struct send_run *r)
{
    if (json_array_size(r->events) == 0)
        return 0;
    json_t *answer = NULL;
    struct sluice_error err;
    if (sluice_connection_send_events(r->client, r->id, r->events, &answer, &err) < 0) {
        int code = cli_report(&err);
        if (err.code == SLUICE_E_INVALID_EVENTS)
            send_print_invalid(r, &err);
        send_note_sent_before(r);
        return code;
    }
    r->accepted += (long)json_integer_value(json_object_get(answer, "accepted"));
    if (r->cli->output == CLI_OUT_TABLE || r->cli->output == CLI_OUT_NAME)
        send_print_batch(r, answer);
    json_array_append_new(r->answers, answer);
    json_array_clear(r->events);
    return 0;
}

/* Reads in and sends it batch by batch. Returns an exit code. */
static int send_stream(struct send_run *r, FILE *in)
{
    char *line = NULL;
    size_t cap = 0;
    long number = 0;
    int code = 0;
    while (code == 0 && getline(&line, &cap, in) >= 0) {
        number++;
        if (send_blank(line))
            continue;
        json_error_t jerr;
        json_t *event = json_loads(line, 0, &jerr);
        if (!event || !json_is_object(event)) {
            fprintf(stderr, "sluice: %s:%ld: %s%s\n", r->source, number,
                    event ? "an event must be a JSON object" : "invalid JSON: ", event ? "" : jerr.text);
            json_decref(event);
            send_note_sent_before(r);
            code = CLI_USAGE;
            break;
        }
        r->lines[json_array_size(r->events)] = number;
        json_array_append_new(r->events, event);
        if (json_array_size(r->events) == CLI_SEND_BATCH)
            code = send_flush(r);
    }
    if (code == 0 && ferror(in)) {
        fprintf(stderr, "sluice: cannot read %s: %s\n", r->source, strerror(errno));
        code = CLI_USAGE;
    }
    free(line);
    if (code == 0)
        code = send_flush(r);
    return code;
}

int cli_cmd_send(struct cli *cli)
{
    const char *file = cli->file && strcmp(cli->file, "-") != 0 ? cli->file : NULL;
    FILE *in = file ? fopen(file, "r") : stdin;
    if (!in) {
        fprintf(stderr, "sluice: cannot open %s: %s\n", file, strerror(errno));
        return CLI_USAGE;
    }
    int code;
    struct send_run r = {.cli = cli, .name = cli->argv[0], .source = file ? file : "stdin"};
    r.client = cli_client(cli, &code);
    json_t *conn = NULL;
    struct sluice_error err;
    if (r.client && sluice_find(r.client, SLUICE_KIND_CONNECTION, r.name, &conn, &err) < 0)
        code = cli_report(&err);
    else if (r.client) {
        r.id = json_string_value(json_object_get(conn, "id"));
        r.events = json_array();
        r.answers = json_array();
        code = send_stream(&r, in);
        if (code == 0 && cli->output != CLI_OUT_TABLE && cli->output != CLI_OUT_NAME) {
            json_t *summary = json_pack("{s:s,s:I,s:O}", "connection", r.name, "accepted", (json_int_t)r.accepted,
                                        "batches", r.answers);
            cli_print_value(summary, cli->output);
            json_decref(summary);
        } else if (code == 0) {
            printf("accepted %ld event%s into connection %s\n", r.accepted, r.accepted == 1 ? "" : "s", r.name);
        }
    }
    json_decref(r.events);
    json_decref(r.answers);
    json_decref(conn);
    if (file)
        fclose(in);
    return code;
}
