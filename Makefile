# Sluice — build, run and test. See README.md.
#
#   make deps    install missing Debian packages (apt-get)
#   make build   build everything under build/
#   make run     start PostgreSQL (under var/), migrate, start api + controlplane
#   make test    unit tests (plain and ASan/UBSan), SQL cases, integration tests, short fuzz
#   make test-san the integration tests against sluiced and sluice built with ASan + UBSan
#   make bench   benchmarks with baselines
#   make fmt / make lint / make clean

SHELL := /bin/bash
CC ?= cc
BUILD ?= build
export BUILD
PKGS := libpq libmicrohttpd jansson openssl rdkafka libcurl libseccomp libnftables yaml-0.1 libpcre2-8 hiredis libmosquitto librabbitmq lua5.4 check

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter
CPPFLAGS := -D_GNU_SOURCE -I. -I/usr/include/postgresql -I/usr/include/lua5.4
CFLAGS_COMMON := -std=c11 -g -pthread $(WARN)
LDLIBS := -lpq -lmicrohttpd -ljansson -lssl -lcrypto -lrdkafka -lcurl -lseccomp -lnftables -lyaml -lpcre2-8 -lhiredis -lmosquitto -lrabbitmq -llua5.4 -lpthread -lm
# The Kafka backend and the MQTT, PostgreSQL, RabbitMQ, Redis and webhook connectors are weakly referenced
# (dataplane/stream.c): pull them into the binaries that want them; the lean sluiced-worker goes
# without them and without librdkafka, hiredis, libmosquitto or librabbitmq.
WITH_KAFKA := -Wl,--undefined=kafka_stream_backend -Wl,--undefined=postgres_stream_backend \
  -Wl,--undefined=postgres_cdc_stream_backend \
  -Wl,--undefined=webhook_stream_backend -Wl,--undefined=redis_stream_backend \
  -Wl,--undefined=mqtt_stream_backend -Wl,--undefined=rabbitmq_stream_backend -Wl,--undefined=pg_lookup_attach
CHECK_LIBS := $(shell pkg-config --libs check 2>/dev/null || echo -lcheck -lsubunit -lrt -lm)

# Two flavours: rel (optimised) and san (ASan + UBSan, for unit tests and make test-san).
REL := $(BUILD)/rel
SAN := $(BUILD)/san
REL_CFLAGS := $(CFLAGS_COMMON) -O2
SAN_CFLAGS := $(CFLAGS_COMMON) -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined

# Library sources: every .c in the subsystem folders (mains excluded).
LIB_SRC := $(sort $(wildcard common/*.c) $(shell find api dataplane controlplane -name '*.c' 2>/dev/null))
# libsluice also carries common/options.c: the CLI's flags are rows of its option type.
SDK_SRC := $(sort $(filter-out sdk/cli%, $(wildcard sdk/*.c))) common/options.c
CLI_SRC := $(sort $(wildcard sdk/cli*.c))
UNIT_SRC := $(sort $(wildcard tests/unit/*_test.c))
TOOL_SRC := $(sort $(wildcard tests/tools/*.c))

REL_LIB_OBJ := $(LIB_SRC:%.c=$(REL)/%.o)
SAN_LIB_OBJ := $(LIB_SRC:%.c=$(SAN)/%.o)
REL_SDK_OBJ := $(SDK_SRC:%.c=$(REL)/%.o)
SAN_SDK_OBJ := $(SDK_SRC:%.c=$(SAN)/%.o)

SLUICED := $(REL)/sluiced
SLUICED_WORKER := $(REL)/sluiced-worker
SLUICE_CLI := $(REL)/sluice
REL_UNITS := $(UNIT_SRC:tests/unit/%.c=$(REL)/tests/unit/%)
SAN_UNITS := $(UNIT_SRC:tests/unit/%.c=$(SAN)/tests/unit/%)
TOOLS := $(TOOL_SRC:tests/tools/%.c=$(REL)/tests/tools/%)

# Fuzz harnesses (tests/fuzz/*_fuzz.c, libFuzzer): built with clang over the library sources.
FUZZ := $(BUILD)/fuzz
FUZZ_SRC := $(sort $(wildcard tests/fuzz/*_fuzz.c))
FUZZ_CFLAGS := -std=c11 -g -O1 -pthread -Wall -Wextra -Werror -Wno-unused-parameter -fsanitize=fuzzer-no-link,address,undefined
FUZZERS := $(FUZZ_SRC:tests/fuzz/%.c=$(FUZZ)/%)

.SECONDARY:
.PHONY: all deps build run stop test test-san unit bench fuzz fmt lint clean install
all: build

deps:
	@scripts/deps.sh
	@$(MAKE) --no-print-directory tests/oracle/node_modules/.package-lock.json

# The integration tests' oracle (tests/oracle: DuckDB from npm, pinned by its package-lock.json).
tests/oracle/node_modules/.package-lock.json: tests/oracle/package-lock.json
	cd tests/oracle && npm ci --no-audit --no-fund --loglevel=error

build: $(SLUICED) $(SLUICED_WORKER) $(SLUICE_CLI) $(REL)/libsluice.a $(REL)/libsluice.so $(REL_UNITS) $(SAN_UNITS) $(TOOLS) $(FUZZERS) $(BUILD)/web/index.html

# The web console (web/): its files and the vendored uPlot from npm (web/package-lock.json),
# copied into $(BUILD)/web, with the SQL editor (CodeMirror 6) bundled by esbuild into
# $(BUILD)/web/vendor/editor.js; `sluiced api --web-dir` serves it. Nothing built is committed.
WEB_SRC := $(wildcard web/src/*)
$(BUILD)/web/index.html: $(WEB_SRC) web/editor/editor.js web/node_modules/.package-lock.json
	@rm -rf $(BUILD)/web && mkdir -p $(BUILD)/web/vendor
	cp $(WEB_SRC) $(BUILD)/web/
	cp web/node_modules/uplot/dist/uPlot.esm.js web/node_modules/uplot/dist/uPlot.min.css $(BUILD)/web/vendor/
	web/node_modules/.bin/esbuild web/editor/editor.js --bundle --format=esm --minify --log-level=warning \
	  --outfile=$(BUILD)/web/vendor/editor.js
web/node_modules/.package-lock.json: web/package-lock.json
	cd web && npm ci --no-audit --no-fund --loglevel=error

$(REL)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(REL_CFLAGS) -fPIC -MMD -MP -c $< -o $@

$(SAN)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(SAN_CFLAGS) -MMD -MP -c $< -o $@

# api/openapi.c embeds api/openapi.json (.incbin), which the compiler's .d files do not list.
$(REL)/api/openapi.o $(SAN)/api/openapi.o $(FUZZ)/api/openapi.o: api/openapi.json

$(REL)/libsluiced.a: $(REL_LIB_OBJ)
	@rm -f $@; ar rcs $@ $^
$(SAN)/libsluiced.a: $(SAN_LIB_OBJ)
	@rm -f $@; ar rcs $@ $^

$(SLUICED): $(REL)/cmd/sluiced.o $(REL)/libsluiced.a
	$(CC) $(REL_CFLAGS) $(WITH_KAFKA) -o $@ $^ $(LDLIBS)

# The worker alone: --as-needed keeps only the libraries its objects use.
$(SLUICED_WORKER): $(REL)/cmd/sluiced-worker.o $(REL)/libsluiced.a
	$(CC) $(REL_CFLAGS) -Wl,--as-needed -o $@ $^ $(LDLIBS)

# libsluice: the C SDK, static and shared.
$(REL)/libsluice.a: $(REL_SDK_OBJ)
	@rm -f $@; ar rcs $@ $^
$(REL)/libsluice.so: $(REL_SDK_OBJ)
	$(CC) -shared -o $@ $^ -lcurl -ljansson -lpthread
$(SAN)/libsluice.a: $(SAN_SDK_OBJ)
	@rm -f $@; ar rcs $@ $^

$(SLUICE_CLI): $(CLI_SRC:%.c=$(REL)/%.o) $(REL)/libsluice.a
	$(CC) $(REL_CFLAGS) -o $@ $^ $(LDLIBS)

# make test-san's binaries: sluiced and the CLI from the sanitizer objects. The workers stay the
# release build: they run under the sandbox's RLIMIT_AS, and an ASan binary reserves terabytes
# of address space for its shadow memory, so it cannot start there. sluiced-worker beside the
# san sluiced is the release one (the api's preview runs the sluiced-worker beside it); the
# controlplane is given the release sluiced as its worker (SLUICE_WORKER_PATH) for the tasks
# that need the full binary (kafka, postgres and webhook connectors).
$(SAN)/sluiced: $(SAN)/cmd/sluiced.o $(SAN)/libsluiced.a
	$(CC) $(SAN_CFLAGS) $(WITH_KAFKA) -o $@ $^ $(LDLIBS)
$(SAN)/sluiced-worker: $(SLUICED_WORKER)
	ln -sfn ../rel/sluiced-worker $@
$(SAN)/sluice: $(CLI_SRC:%.c=$(SAN)/%.o) $(SAN)/libsluice.a
	$(CC) $(SAN_CFLAGS) -o $@ $^ $(LDLIBS)

$(REL)/tests/unit/%: $(REL)/tests/unit/%.o $(REL)/libsluiced.a $(REL)/libsluice.a
	$(CC) $(REL_CFLAGS) -o $@ $^ $(CHECK_LIBS) $(LDLIBS)
$(SAN)/tests/unit/%: $(SAN)/tests/unit/%.o $(SAN)/libsluiced.a $(SAN)/libsluice.a
	$(CC) $(SAN_CFLAGS) -o $@ $^ $(CHECK_LIBS) $(LDLIBS)
$(REL)/tests/tools/%: $(REL)/tests/tools/%.o $(REL)/libsluiced.a $(REL)/libsluice.a
	$(CC) $(REL_CFLAGS) -o $@ $^ $(LDLIBS)

$(FUZZ)/%.o: %.c
	@mkdir -p $(dir $@)
	clang $(CPPFLAGS) $(FUZZ_CFLAGS) -MMD -MP -c $< -o $@
$(FUZZ)/libsluiced.a: $(LIB_SRC:%.c=$(FUZZ)/%.o)
	@rm -f $@; ar rcs $@ $^
$(FUZZ)/%_fuzz: $(FUZZ)/tests/fuzz/%_fuzz.o $(FUZZ)/libsluiced.a
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $^ $(LDLIBS)

# deps first (it installs what the build needs), then the build on every core.
NPROC := $(shell nproc 2>/dev/null || echo 2)
run: deps
	@$(MAKE) --no-print-directory -j$(NPROC) build
	@scripts/run.sh

stop:
	@scripts/run.sh stop

test: deps
	@$(MAKE) --no-print-directory -j$(NPROC) build
	@scripts/test.sh

# The integration tests against the sanitizer build (see $(SAN)/sluiced above); a sanitizer report
# from any of its processes fails the test that ran it (scripts/test.sh, TEST_SAN).
test-san: deps
	@$(MAKE) --no-print-directory -j$(NPROC) build $(SAN)/sluiced $(SAN)/sluiced-worker $(SAN)/sluice
	@SLUICED=$(CURDIR)/$(SAN)/sluiced SLUICE_CLI=$(CURDIR)/$(SAN)/sluice SLUICE_WORKER_PATH=$(CURDIR)/$(REL)/sluiced \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:abort_on_error=1 TEST_SAN=1 scripts/test.sh integration

unit: build
	@scripts/test.sh unit

bench: deps
	@$(MAKE) --no-print-directory -j$(NPROC) build
	@scripts/bench.sh

# A longer fuzz run than make test's: FUZZ_SECONDS per harness (default 300), a random seed.
fuzz: deps
	@$(MAKE) --no-print-directory -j$(NPROC) build
	@s=$${FUZZ_SECONDS:-300}; FUZZ_SECONDS=$$s FUZZ_SEED=$${FUZZ_SEED:-0} TEST_TIMEOUT=$$((s * 5 + 60)) \
	  TESTS=0900 scripts/test.sh integration

FMT_FILES = $(shell git ls-files '*.c' '*.h' 2>/dev/null)
fmt:
	clang-format -i $(FMT_FILES)

lint:
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability --std=c11 \
	  --inline-suppr --suppress=missingIncludeSystem -D_GNU_SOURCE -I. $(FMT_FILES)

PREFIX ?= /usr/local
install: build
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/include
	install -m 755 $(SLUICED) $(SLUICED_WORKER) $(SLUICE_CLI) $(DESTDIR)$(PREFIX)/bin/
	install -m 644 $(REL)/libsluice.a $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(REL)/libsluice.so $(DESTDIR)$(PREFIX)/lib/
	[ ! -f sdk/sluice.h ] || install -m 644 sdk/sluice.h $(DESTDIR)$(PREFIX)/include/
	install -d $(DESTDIR)$(PREFIX)/share/bash-completion/completions $(DESTDIR)$(PREFIX)/share/zsh/vendor-completions
	install -m 644 sdk/completions/sluice.bash $(DESTDIR)$(PREFIX)/share/bash-completion/completions/sluice
	install -m 644 sdk/completions/_sluice $(DESTDIR)$(PREFIX)/share/zsh/vendor-completions/_sluice
	sed 's|@PREFIX@|$(PREFIX)|' sdk/libsluice.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/libsluice.pc
	@# the loader's cache, so programs find the new libsluice.so (only for a real install as root)
	[ -n "$(DESTDIR)" ] || [ "$$(id -u)" != 0 ] || ldconfig

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
