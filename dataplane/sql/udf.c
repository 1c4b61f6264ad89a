/* udf.c — Lua user-defined functions: the sandbox (allocator with a budget, count hook, the
 * libraries kept), SQL values to and from Lua, scalar calls, and aggregates whose accumulator
 * is kept in a byte form between calls. See udf.h. */
#include "dataplane/sql/udf.h"

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/arena.h"
#include "dataplane/sql/functions.h"

/* How often (in instructions) the count hook runs while within the budget. */
#define UDF_HOOK_STEP 10000
/* How deep an accumulator's tables may nest. */
#define UDF_ACC_DEPTH 32

struct udf {
    lua_State *L;
    char *name;
    enum value_type returns;
    enum udf_kind kind;
    size_t used;  /* bytes the state holds */
    long steps;   /* instructions run by the current call */
    int refused;  /* the allocator refused a request during the current call */
    char *result; /* malloc'd: the string of the last aggregate result */
    char error[300];
    int has_error;
};

/* ---- Sandbox -----------------------------------------------------------------------------*/

static void *udf_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    struct udf *u = ud;
    size_t old = ptr ? osize : 0;
    if (nsize == 0) {
        free(ptr);
        u->used -= old;
        return NULL;
    }
    if (nsize > old && u->used - old + nsize > UDF_MEMORY_BUDGET) {
        u->refused = 1;
        return NULL;
    }
    void *m = realloc(ptr, nsize);
    if (m)
        u->used = u->used - old + nsize;
    return m;
}

static struct udf *udf_of(lua_State *L)
{
    void *ud;
    lua_getallocf(L, &ud);
    return ud;
}

/* Count hook: past the budget it raises an error, and from then on at every instruction, so
 * that a pcall in the function cannot swallow it for long. */
static void udf_hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    struct udf *u = udf_of(L);
    u->steps += UDF_HOOK_STEP;
    if (u->steps > UDF_INSTRUCTION_BUDGET) {
        lua_sethook(L, udf_hook, LUA_MASKCOUNT, 1);
        luaL_error(L, "instruction budget exceeded (%d million instructions per call)",
                   (int)(UDF_INSTRUCTION_BUDGET / 1000000));
    }
}

static void udf_budget_reset(struct udf *u)
{
    u->steps = 0;
    u->refused = 0;
    lua_sethook(u->L, udf_hook, LUA_MASKCOUNT, UDF_HOOK_STEP);
}

/* Opens the libraries a function may use and removes what reaches files, the process or
 * bytecode. */
static int udf_open_libs(lua_State *L)
{
    static const luaL_Reg libs[] = {{LUA_GNAME, luaopen_base},       {LUA_STRLIBNAME, luaopen_string},
                                    {LUA_TABLIBNAME, luaopen_table}, {LUA_MATHLIBNAME, luaopen_math},
                                    {LUA_UTF8LIBNAME, luaopen_utf8}, {NULL, NULL}};
    static const char *const removed[] = {"dofile", "loadfile", "load", "loadstring", "collectgarbage", "print"};
    for (const luaL_Reg *l = libs; l->func; l++) {
        luaL_requiref(L, l->name, l->func, 1);
        lua_pop(L, 1);
    }
    for (size_t i = 0; i < sizeof removed / sizeof removed[0]; i++) {
        lua_pushnil(L);
        lua_setglobal(L, removed[i]);
    }
    lua_getglobal(L, LUA_STRLIBNAME);
    lua_pushnil(L);
    lua_setfield(L, -2, "dump");
    lua_pop(L, 1);
    return 0;
}

static void udf_set_error(struct udf *u, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void udf_set_error(struct udf *u, const char *fmt, ...)
{
    int n = snprintf(u->error, sizeof u->error, "function \"%s\": ", u->name);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(u->error + n, sizeof u->error - (size_t)n, fmt, ap);
    va_end(ap);
    u->has_error = 1;
}

/* The error of a failed lua_pcall (rc) on top of the stack into u->error; pops it. */
static void udf_lua_error(struct udf *u, int rc)
{
    if (rc == LUA_ERRMEM || u->refused)
        udf_set_error(u, "memory budget exceeded (%s per function)", UDF_MEMORY_BUDGET_TEXT);
    else if (lua_type(u->L, -1) == LUA_TSTRING)
        udf_set_error(u, "%s", lua_tostring(u->L, -1));
    else
        udf_set_error(u, "error raised with a %s value", luaL_typename(u->L, -1));
    lua_settop(u->L, 0);
    lua_gc(u->L, LUA_GCCOLLECT);
}

/* Runs the chunk and keeps what it returns as the registry's "udf" entry. */
static int udf_load(struct udf *u, const char *source, char *errbuf, size_t errlen)
{
    char chunkname[80];
    snprintf(chunkname, sizeof chunkname, "=%s", u->name);
    udf_budget_reset(u);
    int rc = luaL_loadbufferx(u->L, source, strlen(source), chunkname, "t");
    if (rc == LUA_OK)
        rc = lua_pcall(u->L, 0, 1, 0);
    if (rc != LUA_OK) {
        udf_lua_error(u, rc);
        snprintf(errbuf, errlen, "%s", u->error);
        return -1;
    }
    int t = lua_type(u->L, -1);
    u->kind = t == LUA_TFUNCTION ? UDF_SCALAR : UDF_AGGREGATE;
    if (t == LUA_TTABLE) {
        static const char *const needed[] = {"init", "accumulate", "result"};
        for (size_t i = 0; i < 3; i++, lua_pop(u->L, 1))
            if (lua_getfield(u->L, -1, needed[i]) != LUA_TFUNCTION) {
                snprintf(errbuf, errlen, "function \"%s\": the aggregate's table has no function \"%s\"", u->name,
                         needed[i]);
                return -1;
            }
    } else if (t != LUA_TFUNCTION) {
        snprintf(errbuf, errlen,
                 "function \"%s\": the Lua chunk must return a function (a scalar function) or a table with init, "
                 "accumulate and result (an aggregate), found %s",
                 u->name, lua_typename(u->L, t));
        return -1;
    }
    lua_setfield(u->L, LUA_REGISTRYINDEX, "udf");
    return 0;
}

struct udf *udf_new(const char *name, const char *source, enum value_type returns, char *errbuf, size_t errlen)
{
    struct udf *u = calloc(1, sizeof *u);
    if (!u || !(u->name = strdup(name))) {
        free(u);
        snprintf(errbuf, errlen, "out of memory");
        return NULL;
    }
    u->returns = returns;
    u->L = lua_newstate(udf_alloc, u);
    if (!u->L) {
        snprintf(errbuf, errlen, "function \"%s\": cannot create a Lua state", name);
        udf_free(u);
        return NULL;
    }
    lua_pushcfunction(u->L, udf_open_libs);
    if (lua_pcall(u->L, 0, 0, 0) != LUA_OK) {
        snprintf(errbuf, errlen, "function \"%s\": cannot open the Lua libraries", name);
        udf_free(u);
        return NULL;
    }
    if (udf_load(u, source, errbuf, errlen) < 0) {
        udf_free(u);
        return NULL;
    }
    return u;
}

void udf_free(struct udf *u)
{
    if (!u)
        return;
    if (u->L)
        lua_close(u->L);
    free(u->name);
    free(u->result);
    free(u);
}

void udf_free_void(void *u) { udf_free(u); }
enum udf_kind udf_kind(const struct udf *u) { return u->kind; }
const char *udf_name(const struct udf *u) { return u->name; }
enum value_type udf_returns(const struct udf *u) { return u->returns; }

int udf_has(const struct udf *u, const char *member)
{
    lua_getfield(u->L, LUA_REGISTRYINDEX, "udf");
    int has = lua_type(u->L, -1) == LUA_TTABLE && lua_getfield(u->L, -1, member) == LUA_TFUNCTION;
    lua_settop(u->L, 0);
    return has;
}

int udf_check(const char *name, const char *source, enum udf_kind *kind, int *merge, char *errbuf, size_t errlen)
{
    struct udf *u = udf_new(name, source, VT_STRING, errbuf, errlen);
    if (!u)
        return -1;
    *kind = u->kind;
    *merge = u->kind == UDF_AGGREGATE && udf_has(u, "merge");
    udf_free(u);
    return 0;
}

const struct sql_function_def *udf_find(const struct sql_function_def *defs, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcasecmp(defs[i].name, name) == 0)
            return &defs[i];
    return NULL;
}

int udf_type_supported(enum value_type t)
{
    return t == VT_BIGINT || t == VT_DOUBLE || t == VT_STRING || t == VT_BOOLEAN || t == VT_TIMESTAMP || t == VT_DATE;
}

const char *udf_take_error(struct udf *u)
{
    if (!u || !u->has_error)
        return NULL;
    u->has_error = 0;
    return u->error;
}

/* ---- Values ------------------------------------------------------------------------------*/

static void udf_push_value(lua_State *L, const struct value *v)
{
    switch (value_type_base(v->type)) {
    case VT_BOOLEAN:
        lua_pushboolean(L, v->u.b);
        return;
    case VT_BIGINT:
    case VT_TIMESTAMP:
    case VT_DATE:
        lua_pushinteger(L, (lua_Integer)v->u.i);
        return;
    case VT_DOUBLE:
        lua_pushnumber(L, v->u.d);
        return;
    case VT_DECIMAL:
        lua_pushnumber(L, value_decimal_to_double(v->u.dec, value_decimal_scale(v->type)));
        return;
    case VT_STRING:
        lua_pushlstring(L, v->u.s.ptr, v->u.s.len);
        return;
    default:
        lua_pushnil(L);
    }
}

/* The Lua value at idx as u's declared type into out; a string points into the Lua state
 * (valid while the value stays on the stack). Returns 0, or -1 with the error set. */
static int udf_to_value(struct udf *u, int idx, struct value *out)
{
    lua_State *L = u->L;
    int t = lua_type(L, idx), isint = 0;
    out->type = u->returns;
    if (t == LUA_TNIL) {
        out->type = VT_NULL;
        return 0;
    }
    switch (u->returns) {
    case VT_BOOLEAN:
        if (t != LUA_TBOOLEAN)
            break;
        out->u.b = lua_toboolean(L, idx);
        return 0;
    case VT_DOUBLE:
        if (t != LUA_TNUMBER)
            break;
        out->u.d = lua_tonumber(L, idx);
        return 0;
    case VT_STRING: {
        size_t len;
        if (t != LUA_TSTRING && t != LUA_TNUMBER)
            break;
        out->u.s.ptr = lua_tolstring(L, idx, &len);
        if (len > SQL_STRING_MAX) {
            udf_set_error(u, "result exceeds the " SQL_STRING_MAX_TEXT " string limit");
            return -1;
        }
        out->u.s.len = (uint32_t)len;
        return 0;
    }
    default: /* BIGINT, TIMESTAMP, DATE: an integer, or a float with an integral value */
        out->u.i = (int64_t)lua_tointegerx(L, idx, &isint);
        if (!isint)
            break;
        return 0;
    }
    char shown[64];
    if (t == LUA_TNUMBER || t == LUA_TSTRING)
        snprintf(shown, sizeof shown, "%s %.40s", lua_typename(L, t), lua_tostring(L, idx));
    else
        snprintf(shown, sizeof shown, "a %s", lua_typename(L, t));
    udf_set_error(u, "returned %s where %s is declared", shown, value_type_name(u->returns));
    return -1;
}

/* ---- Scalar calls ------------------------------------------------------------------------*/

int udf_eval(const struct expr *e, struct eval_ctx *c, struct value *out)
{
    struct udf *u = e->state;
    struct value args[FUNCTIONS_MAX_ARGS];
    if (!u)
        return eval_fail(c, e, "a declared user-defined function runs only in a worker");
    for (int i = 0; i < e->nargs; i++)
        if (expr_eval(e->args[i], c, &args[i]) < 0)
            return -1;
    lua_settop(u->L, 0);
    udf_budget_reset(u);
    lua_getfield(u->L, LUA_REGISTRYINDEX, "udf");
    if (!lua_checkstack(u->L, e->nargs + 4))
        return eval_fail(c, e, "function \"%s\": too many arguments", u->name);
    for (int i = 0; i < e->nargs; i++)
        udf_push_value(u->L, &args[i]);
    int rc = lua_pcall(u->L, e->nargs, 1, 0);
    if (rc != LUA_OK) {
        udf_lua_error(u, rc);
        u->has_error = 0;
        return eval_fail(c, e, "%s", u->error);
    }
    struct value v;
    if (udf_to_value(u, -1, &v) < 0) {
        u->has_error = 0;
        lua_settop(u->L, 0);
        return eval_fail(c, e, "%s", u->error);
    }
    if (v.type == VT_STRING) {
        char *s = eval_string_alloc(c, e, u->name, v.u.s.len);
        if (!s) {
            lua_settop(u->L, 0);
            return -1;
        }
        memcpy(s, v.u.s.ptr, v.u.s.len);
        v.u.s.ptr = s;
    }
    lua_settop(u->L, 0);
    *out = v;
    return 0;
}

/* ---- Accumulators' byte form: a tag per value ('n' nil, 'f'/'t' booleans, 'i' integer, 'd'
 * float, 's' length and bytes, '{' pairs of values up to '}') -----------------------------*/

static void acc_write(lua_State *L, luaL_Buffer *b, int idx, int depth)
{
    idx = lua_absindex(L, idx);
    switch (lua_type(L, idx)) {
    case LUA_TNIL:
        luaL_addchar(b, 'n');
        return;
    case LUA_TBOOLEAN:
        luaL_addchar(b, lua_toboolean(L, idx) ? 't' : 'f');
        return;
    case LUA_TNUMBER:
        if (lua_isinteger(L, idx)) {
            lua_Integer i = lua_tointeger(L, idx);
            luaL_addchar(b, 'i');
            luaL_addlstring(b, (const char *)&i, sizeof i);
        } else {
            lua_Number d = lua_tonumber(L, idx);
            luaL_addchar(b, 'd');
            luaL_addlstring(b, (const char *)&d, sizeof d);
        }
        return;
    case LUA_TSTRING: {
        size_t len;
        const char *s = lua_tolstring(L, idx, &len);
        uint64_t n = len;
        luaL_addchar(b, 's');
        luaL_addlstring(b, (const char *)&n, sizeof n);
        luaL_addlstring(b, s, len);
        return;
    }
    case LUA_TTABLE:
        if (depth >= UDF_ACC_DEPTH)
            luaL_error(L, "the accumulator nests tables deeper than %d (or holds a cycle)", UDF_ACC_DEPTH);
        luaL_checkstack(L, 4, NULL);
        luaL_addchar(b, '{');
        lua_pushnil(L);
        while (lua_next(L, idx)) {
            acc_write(L, b, -2, depth + 1);
            acc_write(L, b, -1, depth + 1);
            lua_pop(L, 1);
        }
        luaL_addchar(b, '}');
        return;
    default:
        luaL_error(L, "the accumulator holds a %s; only nil, booleans, numbers, strings and tables can be kept",
                   luaL_typename(L, idx));
    }
}

/* Protected: the value at 1 to its byte form (a string, returned). The buffer sits on the
 * stack above the value, so values being written are pushed above it. */
static int acc_encode(lua_State *L)
{
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    acc_write(L, &b, 1, 0);
    luaL_pushresult(&b);
    return 1;
}

struct acc_reader {
    const char *p;
    size_t len, pos;
};

static void acc_take(lua_State *L, struct acc_reader *r, void *d, size_t n)
{
    if (r->len - r->pos < n)
        luaL_error(L, "a kept accumulator is malformed");
    memcpy(d, r->p + r->pos, n);
    r->pos += n;
}

static void acc_read(lua_State *L, struct acc_reader *r, int depth)
{
    char tag;
    luaL_checkstack(L, 4, NULL);
    acc_take(L, r, &tag, 1);
    switch (tag) {
    case 'n':
        lua_pushnil(L);
        return;
    case 't':
    case 'f':
        lua_pushboolean(L, tag == 't');
        return;
    case 'i': {
        lua_Integer i;
        acc_take(L, r, &i, sizeof i);
        lua_pushinteger(L, i);
        return;
    }
    case 'd': {
        lua_Number d;
        acc_take(L, r, &d, sizeof d);
        lua_pushnumber(L, d);
        return;
    }
    case 's': {
        uint64_t n;
        acc_take(L, r, &n, sizeof n);
        if (r->len - r->pos < n)
            luaL_error(L, "a kept accumulator is malformed");
        lua_pushlstring(L, r->p + r->pos, (size_t)n);
        r->pos += (size_t)n;
        return;
    }
    case '{':
        if (depth >= UDF_ACC_DEPTH)
            luaL_error(L, "a kept accumulator is malformed");
        lua_newtable(L);
        while (r->pos < r->len && r->p[r->pos] != '}') {
            acc_read(L, r, depth + 1);
            acc_read(L, r, depth + 1);
            if (lua_isnil(L, -2))
                luaL_error(L, "a kept accumulator is malformed");
            lua_rawset(L, -3);
        }
        acc_take(L, r, &tag, 1);
        return;
    default:
        luaL_error(L, "a kept accumulator is malformed");
    }
}

/* Protected: the string at 1 (a byte form) back to its value (returned). */
static int acc_decode(lua_State *L)
{
    struct acc_reader r = {0};
    r.p = lua_tolstring(L, 1, &r.len);
    acc_read(L, &r, 0);
    if (r.pos != r.len)
        luaL_error(L, "a kept accumulator is malformed");
    return 1;
}

/* ---- Aggregates --------------------------------------------------------------------------*/

/* Pushes the aggregate's member function. */
static void agg_member(struct udf *u, const char *member)
{
    lua_getfield(u->L, LUA_REGISTRYINDEX, "udf");
    lua_getfield(u->L, -1, member);
    lua_remove(u->L, -2);
}

/* Pushes the accumulator of state: decoded, or a new one from init(). Returns LUA_OK or the
 * error of a failed call (on the stack). */
static int agg_push_acc(struct udf *u, const struct value *state)
{
    if (state->type == VT_STRING) {
        lua_pushcfunction(u->L, acc_decode);
        lua_pushlstring(u->L, state->u.s.ptr, state->u.s.len);
    } else {
        agg_member(u, "init");
        lua_pushnil(u->L); /* init takes no argument: a placeholder keeps the count the same */
    }
    return lua_pcall(u->L, 1, 1, 0);
}

/* The accumulator on top of the stack (the member's return value, or acc_index's when it
 * returned nil) into *state as its byte form; pops what it used. */
static int agg_store(struct udf *u, int acc_index, struct value *state)
{
    if (lua_isnil(u->L, -1)) {
        lua_pop(u->L, 1);
        lua_pushvalue(u->L, acc_index);
    }
    lua_pushcfunction(u->L, acc_encode);
    lua_insert(u->L, -2);
    int rc = lua_pcall(u->L, 1, 1, 0);
    if (rc != LUA_OK) {
        udf_lua_error(u, rc);
        return -1;
    }
    size_t len;
    const char *s = lua_tolstring(u->L, -1, &len);
    char *m = malloc(len + 1);
    if (!m) {
        udf_set_error(u, "out of memory");
        lua_settop(u->L, 0);
        return -1;
    }
    memcpy(m, s, len);
    m[len] = '\0';
    if (state->type == VT_STRING)
        free((void *)state->u.s.ptr);
    state->type = VT_STRING;
    state->u.s.ptr = m;
    state->u.s.len = (uint32_t)len;
    lua_settop(u->L, 0);
    return 0;
}

int udf_agg_update(struct udf *u, struct value *state, const struct value *arg, int retract)
{
    if (!u)
        return -1;
    lua_settop(u->L, 0);
    udf_budget_reset(u);
    if (retract && !udf_has(u, "retract")) {
        udf_set_error(u, "the aggregate has no retract function, so it cannot take back a row of an updating input");
        return -1;
    }
    int rc = agg_push_acc(u, state);
    if (rc == LUA_OK) {
        agg_member(u, retract ? "retract" : "accumulate");
        lua_pushvalue(u->L, 1);
        udf_push_value(u->L, arg);
        rc = lua_pcall(u->L, 2, 1, 0);
    }
    if (rc != LUA_OK) {
        udf_lua_error(u, rc);
        return -1;
    }
    return agg_store(u, 1, state);
}

int udf_agg_merge(struct udf *u, struct value *dst, const struct value *src)
{
    if (!u)
        return -1;
    lua_settop(u->L, 0);
    udf_budget_reset(u);
    if (!udf_has(u, "merge")) {
        udf_set_error(u, "the aggregate has no merge function, which session windows need");
        return -1;
    }
    int rc = agg_push_acc(u, dst);
    if (rc == LUA_OK)
        rc = agg_push_acc(u, src);
    if (rc == LUA_OK) {
        agg_member(u, "merge");
        lua_pushvalue(u->L, 1);
        lua_pushvalue(u->L, 2);
        rc = lua_pcall(u->L, 2, 1, 0);
    }
    if (rc != LUA_OK) {
        udf_lua_error(u, rc);
        return -1;
    }
    return agg_store(u, 1, dst);
}

void udf_agg_result(struct udf *u, const struct value *state, struct value *out)
{
    out->type = VT_NULL;
    if (!u)
        return;
    lua_settop(u->L, 0);
    udf_budget_reset(u);
    out->type = VT_NULL;
    int rc = agg_push_acc(u, state);
    if (rc == LUA_OK) {
        agg_member(u, "result");
        lua_insert(u->L, -2);
        rc = lua_pcall(u->L, 1, 1, 0);
    }
    if (rc != LUA_OK) {
        udf_lua_error(u, rc);
        u->has_error = 0; /* a result belongs to no one row: NULL (udf.h) */
        return;
    }
    struct value v;
    int bad = udf_to_value(u, -1, &v) < 0;
    u->has_error = 0;
    if (!bad && v.type == VT_STRING) {
        char *m = malloc(v.u.s.len + 1);
        if (m) {
            memcpy(m, v.u.s.ptr, v.u.s.len);
            m[v.u.s.len] = '\0';
            free(u->result);
            u->result = m;
            v.u.s.ptr = m;
            *out = v;
        }
    } else if (!bad) {
        *out = v;
    }
    lua_settop(u->L, 0);
}
