/* cli_output.c — tables, JSON and YAML output of the CLI (see cli_output.h). */
#include "sdk/cli_output.h"

#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <yaml.h>

struct format_row {
    const char *name;
    enum cli_output format;
};
static const struct format_row format_rows[] = {
    {"table", CLI_OUT_TABLE},
    {"json", CLI_OUT_JSON},
    {"yaml", CLI_OUT_YAML},
    {"name", CLI_OUT_NAME},
};

int cli_output_parse(const char *word, enum cli_output *out)
{
    for (size_t i = 0; i < sizeof format_rows / sizeof format_rows[0]; i++)
        if (strcmp(word, format_rows[i].name) == 0) {
            *out = format_rows[i].format;
            return 0;
        }
    return -1;
}

/* ==== columns per kind =================================================================== */

/* A column: header and a dotted path into the resource; a path ending in "#" counts the
 * array there. */
struct column {
    const char *header;
    const char *path;
};

#define MAX_COLUMNS 8
static const struct column kind_columns[SLUICE_KIND_COUNT][MAX_COLUMNS] = {
    [SLUICE_KIND_SECRET] = {{"NAME", "name"}, {"VERSION", "version"}, {"UPDATED", "updated_at"}},
    [SLUICE_KIND_FUNCTION] = {{"NAME", "name"},
                              {"RETURNS", "returns"},
                              {"VERSION", "version"},
                              {"UPDATED", "updated_at"}},
    [SLUICE_KIND_STREAM] = {{"NAME", "name"},
                            {"PARTITIONS", "partitions"},
                            {"FIELDS", "schema.fields#"},
                            {"VERSION", "version"},
                            {"UPDATED", "updated_at"}},
    [SLUICE_KIND_CONNECTION] = {{"NAME", "name"},
                                {"CONNECTOR", "connector"},
                                {"TYPE", "type"},
                                {"STREAM", "stream"},
                                {"DESIRED", "desired_state"},
                                {"ACTUAL", "actual_state"},
                                {"VERSION", "version"},
                                {"LAST ERROR", "last_error"}},
    [SLUICE_KIND_PIPELINE] = {{"NAME", "name"},
                              {"DESIRED", "desired_state"},
                              {"ACTUAL", "actual_state"},
                              {"TASKS", "task_count"},
                              {"VERSION", "version"},
                              {"LAST ERROR", "last_error"}},
    [SLUICE_KIND_API_KEY] = {{"NAME", "name"}, {"ID", "id"}, {"CREATED", "created_at"}},
    [SLUICE_KIND_USER] = {{"EMAIL", "email"}, {"ROLE", "role"}, {"ID", "id"}, {"CREATED", "created_at"}},
};

/* A DOUBLE as the fewest significant digits that read back as the same value (1985359.252,
 * not %g's 1.98536e+06 nor %.17g's 1985359.2520000001), as Flink prints a DOUBLE. */
static char *real_text(double d)
{
    char *s = NULL;
    int digits = 1; /* at least the integer part's digits, so 100.0 is 100 and not 1e+02 */
    for (double x = d < 0 ? -d : d; x >= 10 && digits < 18; x /= 10)
        digits++;
    if (digits > 17) /* too long for 17 digits: exponent form, as short as it reads back */
        digits = 1;
    for (; digits <= 17; digits++) {
        free(s);
        if (asprintf(&s, "%.*g", digits, d) < 0)
            return NULL;
        if (strtod(s, NULL) == d)
            break;
    }
    return s;
}

/* Text of a cell (malloc'd). */
static char *cell_text(json_t *v)
{
    char *s = NULL;
    if (!v || json_is_null(v))
        return strdup("-");
    if (json_is_string(v))
        return strdup(json_string_value(v));
    if (json_is_integer(v)) {
        if (asprintf(&s, "%lld", (long long)json_integer_value(v)) < 0)
            return NULL;
        return s;
    }
    if (json_is_real(v))
        return real_text(json_real_value(v));
    if (json_is_boolean(v))
        return strdup(json_is_true(v) ? "true" : "false");
    return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
}

static json_t *lookup_path(json_t *v, const char *path, bool *count)
{
    char buf[128];
    snprintf(buf, sizeof buf, "%s", path);
    size_t n = strlen(buf);
    *count = n > 0 && buf[n - 1] == '#';
    if (*count)
        buf[n - 1] = '\0';
    char *save = NULL;
    for (char *part = strtok_r(buf, ".", &save); part && v; part = strtok_r(NULL, ".", &save))
        v = json_object_get(v, part);
    return v;
}

static int terminal_width(void)
{
    struct winsize ws;
    if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        return ws.ws_col;
    const char *cols = getenv("COLUMNS");
    if (cols && atoi(cols) > 20)
        return atoi(cols);
    return 0; /* unlimited */
}

/* Prints cells[rows][cols] (row 0 the headers) aligned; the last column is cut to fit the
 * terminal. Frees the cells. */
static void print_table(char **cells, size_t rows, size_t cols)
{
    size_t width[MAX_COLUMNS * 4] = {0};
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < cols; c++) {
            const char *s = cells[r * cols + c];
            size_t len = s ? strlen(s) : 0;
            if (len > width[c])
                width[c] = len;
        }
    int term = terminal_width();
    for (size_t r = 0; r < rows; r++) {
        size_t used = 0;
        for (size_t c = 0; c < cols; c++) {
            const char *s = cells[r * cols + c] ? cells[r * cols + c] : "";
            if (c + 1 < cols) {
                printf("%-*s  ", (int)width[c], s);
                used += width[c] + 2;
            } else if (term > 0 && used + strlen(s) > (size_t)term && (size_t)term > used + 3) {
                printf("%.*s...", (int)((size_t)term - used - 3), s);
            } else {
                printf("%s", s);
            }
        }
        printf("\n");
    }
    for (size_t i = 0; i < rows * cols; i++)
        free(cells[i]);
    free(cells);
}

static void print_names(enum sluice_kind kind, json_t *items)
{
    size_t i;
    json_t *item;
    json_array_foreach(items, i, item)
    {
        const char *name = json_string_value(json_object_get(item, kind == SLUICE_KIND_USER ? "email" : "name"));
        printf("%s/%s\n", sluice_kind_name(kind), name ? name : "?");
    }
}

void cli_print_resources(enum sluice_kind kind, json_t *items, enum cli_output format)
{
    if (format == CLI_OUT_JSON || format == CLI_OUT_YAML) {
        cli_print_value(items, format);
        return;
    }
    if (format == CLI_OUT_NAME) {
        print_names(kind, items);
        return;
    }
    const struct column *cols = kind_columns[kind];
    size_t ncols = 0;
    while (ncols < MAX_COLUMNS && cols[ncols].header)
        ncols++;
    size_t nrows = json_array_size(items) + 1;
    char **cells = calloc(nrows * ncols, sizeof *cells);
    if (!cells)
        return;
    for (size_t c = 0; c < ncols; c++)
        cells[c] = strdup(cols[c].header);
    for (size_t r = 1; r < nrows; r++) {
        json_t *item = json_array_get(items, r - 1);
        for (size_t c = 0; c < ncols; c++) {
            bool count;
            json_t *v = lookup_path(item, cols[c].path, &count);
            if (count) {
                json_t *n = json_integer((json_int_t)json_array_size(v));
                cells[r * ncols + c] = cell_text(n);
                json_decref(n);
            } else {
                cells[r * ncols + c] = cell_text(v);
            }
        }
    }
    print_table(cells, nrows, ncols);
}

void cli_print_rows(json_t *rows, enum cli_output format)
{
    if (format != CLI_OUT_TABLE) {
        cli_print_value(rows, format);
        return;
    }
    json_t *first = json_array_get(rows, 0);
    size_t ncols = json_object_size(first);
    if (!json_is_object(first) || ncols == 0 || ncols > MAX_COLUMNS * 4) {
        cli_print_value(rows, CLI_OUT_YAML);
        return;
    }
    size_t nrows = json_array_size(rows) + 1;
    char **cells = calloc(nrows * ncols, sizeof *cells);
    if (!cells)
        return;
    const char *key;
    json_t *v;
    size_t c = 0;
    json_object_foreach(first, key, v)
    {
        cells[c] = strdup(key);
        for (char *p = cells[c]; p && *p; p++)
            *p = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
        for (size_t r = 1; r < nrows; r++)
            cells[r * ncols + c] = cell_text(json_object_get(json_array_get(rows, r - 1), key));
        c++;
    }
    print_table(cells, nrows, ncols);
}

/* value as JSON laid out as json_dumps(JSON_INDENT(2)) does, at depth (its indentation / 2),
 * but with each real in its shortest exact form (1985359.252; jansson prints 17 digits,
 * 1985359.2520000001), keeping a ".0" on a whole one so that it reads back as a real. */
static void write_json(FILE *f, json_t *v, int depth)
{
    bool object = json_is_object(v);
    size_t n = object ? json_object_size(v) : json_is_array(v) ? json_array_size(v) : 0;
    if ((object || json_is_array(v)) && n > 0) {
        void *it = object ? json_object_iter(v) : NULL;
        fputc(object ? '{' : '[', f);
        for (size_t i = 0; i < n; i++) {
            fprintf(f, "%s\n%*s", i ? "," : "", (depth + 1) * 2, "");
            if (object) {
                json_t *key = json_string(json_object_iter_key(it));
                char *k = json_dumps(key, JSON_ENCODE_ANY);
                fprintf(f, "%s: ", k ? k : "\"\"");
                free(k);
                json_decref(key);
            }
            write_json(f, object ? json_object_iter_value(it) : json_array_get(v, i), depth + 1);
            it = object ? json_object_iter_next(v, it) : NULL;
        }
        fprintf(f, "\n%*s%c", depth * 2, "", object ? '}' : ']');
        return;
    }
    char *text = json_is_real(v) ? real_text(json_real_value(v)) : json_dumps(v, JSON_ENCODE_ANY);
    fprintf(f, "%s%s", text ? text : "null", text && json_is_real(v) && !strpbrk(text, ".en") ? ".0" : "");
    free(text);
}

void cli_print_value(json_t *value, enum cli_output format)
{
    if (format == CLI_OUT_JSON) {
        write_json(stdout, value, 0);
        fputc('\n', stdout);
        return;
    }
    fflush(stdout);
    cli_write_yaml(stdout, value);
}

/* ==== YAML =============================================================================== */

static int emit(yaml_emitter_t *e, yaml_event_t *ev) { return yaml_emitter_emit(e, ev) ? 0 : -1; }

static int emit_scalar(yaml_emitter_t *e, const char *text, bool plain_ok)
{
    yaml_event_t ev;
    yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)text, (int)strlen(text), plain_ok, !plain_ok,
                                 YAML_ANY_SCALAR_STYLE);
    return emit(e, &ev);
}

/* A string that would read back as another type must be quoted. */
static bool looks_typed(const char *s)
{
    static const char *words[] = {"",      "~",     "null", "Null", "NULL", "true", "True", "TRUE", "false",
                                  "False", "FALSE", "yes",  "no",   "on",   "off",  "y",    "n"};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (strcmp(s, words[i]) == 0)
            return true;
    char *end;
    (void)strtod(s, &end);
    return *end == '\0';
}

static int emit_value(yaml_emitter_t *e, json_t *v)
{
    yaml_event_t ev;
    if (json_is_object(v)) {
        yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE);
        if (emit(e, &ev) < 0)
            return -1;
        const char *key;
        json_t *item;
        json_object_foreach(v, key, item)
        {
            if (emit_scalar(e, key, !looks_typed(key)) < 0 || emit_value(e, item) < 0)
                return -1;
        }
        yaml_mapping_end_event_initialize(&ev);
        return emit(e, &ev);
    }
    if (json_is_array(v)) {
        yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_SEQUENCE_STYLE);
        if (emit(e, &ev) < 0)
            return -1;
        size_t i;
        json_t *item;
        json_array_foreach(v, i, item)
        {
            if (emit_value(e, item) < 0)
                return -1;
        }
        yaml_sequence_end_event_initialize(&ev);
        return emit(e, &ev);
    }
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        if (strchr(s, '\n')) {
            yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)s, (int)strlen(s), 0, 1,
                                         YAML_LITERAL_SCALAR_STYLE);
            return emit(e, &ev);
        }
        return emit_scalar(e, s, !looks_typed(s));
    }
    char *text = cell_text(v);
    int rc = text ? emit_scalar(e, json_is_null(v) ? "null" : text, true) : -1;
    free(text);
    return rc;
}

int cli_write_yaml(FILE *f, json_t *value)
{
    yaml_emitter_t e;
    yaml_event_t ev;
    if (!yaml_emitter_initialize(&e))
        return -1;
    yaml_emitter_set_output_file(&e, f);
    yaml_emitter_set_unicode(&e, 1);
    yaml_emitter_set_width(&e, 100);
    yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING);
    int rc = emit(&e, &ev);
    yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1);
    rc = rc < 0 ? -1 : emit(&e, &ev);
    rc = rc < 0 ? -1 : emit_value(&e, value);
    yaml_document_end_event_initialize(&ev, 1);
    rc = rc < 0 ? -1 : emit(&e, &ev);
    yaml_stream_end_event_initialize(&ev);
    rc = rc < 0 ? -1 : emit(&e, &ev);
    yaml_emitter_flush(&e);
    yaml_emitter_delete(&e);
    return rc;
}
