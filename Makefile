# nginx-hoop: build the two dynamic modules against the distro nginx, run the
# unit and integration tests, start the embedded demo.
#
#   make              build/ngx_http_hoop_module.so, ngx_stream_hoop_pg_module.so
#   make test         unit + integration tests (prove)
#   make test-asan    the same, modules and unit tests built with ASan+UBSan
#   make demo         build and start the embedded default (tools/hoop-demo)
#   make bench        benchmarks (bench/): ratios against a baseline, same run
#   make stress       200 Postgres sessions + HTTP for 60 s (bench/stress_pg.pl)
#   make style        nginx-style lint of the C sources

SHELL      := /bin/bash
NGX_SRC    := /usr/share/nginx/src
BUILD      ?= build

CORE_SRCS  := $(wildcard shared/core/*.c)
CORE_HDRS  := $(wildcard shared/core/*.h)
UNIT_SRCS  := $(wildcard t/unit/test_*.c)
UNIT_BINS  := $(patsubst t/unit/%.c,$(BUILD)/unit/%,$(UNIT_SRCS))
UNIT_CFLAGS = -std=c11 -D_GNU_SOURCE -g -O1 -Wall -Wextra -Werror \
              -Ishared/core -It/unit $(SAN_UNIT)
# what shared/core links: OpenSSL for signatures, jansson for JSON
CORE_LIBS  := -lcrypto -ljansson -lpg_query -lz

# where the .so files are for the tests, and anything else they need
export HOOP_MODULES_DIR := $(CURDIR)/$(BUILD)
PROVE      ?= prove
PROVE_FLAGS ?=

ASAN_CC    := -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined
ASAN_LD    := -fsanitize=address,undefined

FUZZ_SRCS  := $(wildcard fuzz/fuzz_*.c)
FUZZ_BINS  := $(patsubst fuzz/%.c,build-fuzz/%,$(FUZZ_SRCS))
FUZZ_SECONDS ?= 60

.PHONY: all deps modules unit test test-asan fuzz bench stress demo demo-stop \
        style clean

all: modules

deps:
	@tools/install-deps --check 2>/dev/null || tools/install-deps

# deps is phony, so make runs it once per invocation, before configuring
$(BUILD)/Makefile: config | deps
	tools/configure-modules $(BUILD) "$(EXTRA_CC)" "$(EXTRA_LD)"

modules: deps $(BUILD)/Makefile
	$(MAKE) -s -C $(NGX_SRC) -f $(CURDIR)/$(BUILD)/Makefile modules

$(BUILD)/unit/%: t/unit/%.c t/unit/tap.h $(CORE_SRCS) $(CORE_HDRS)
	@mkdir -p $(@D)
	$(CC) $(UNIT_CFLAGS) -o $@ $< $(CORE_SRCS) $(CORE_LIBS)

unit: $(UNIT_BINS)

test: modules unit
	$(PROVE) $(PROVE_FLAGS) $(UNIT_BINS) t/*.t

test-asan:
	$(MAKE) test BUILD=build-asan EXTRA_CC="$(ASAN_CC)" \
	    EXTRA_LD="$(ASAN_LD)" \
	    SAN_UNIT="-fsanitize=address,undefined -fno-sanitize-recover=all" \
	    HOOP_ASAN=1

# libFuzzer targets for the shared/core parsers; each runs FUZZ_SECONDS on
# a copy of its seed corpus (fuzz/corpus/NAME), new finds kept in
# build-fuzz/corpus/NAME, crashes in build-fuzz/
build-fuzz/fuzz_%: fuzz/fuzz_%.c t/unit/jose_test_keys.h $(CORE_SRCS) $(CORE_HDRS)
	@mkdir -p $(@D)
	clang -g -O1 -fsanitize=fuzzer,address,undefined -Ishared/core -It/unit \
	    -o $@ $< $(CORE_SRCS) $(CORE_LIBS)

$(BUILD)/bench/%: bench/%.c t/unit/jose_test_keys.h $(CORE_SRCS) $(CORE_HDRS)
	@mkdir -p $(@D)
	$(CC) -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -Ishared/core \
	    -It/unit -o $@ $< $(CORE_SRCS) $(CORE_LIBS)

# not part of make test: timing belongs in benchmarks, run on a quiet machine
bench: modules $(BUILD)/bench/jwt_verify $(BUILD)/bench/mask_throughput
	$(BUILD)/bench/jwt_verify
	$(BUILD)/bench/mask_throughput
	bench/auth_http.pl
	bench/pg_gateway.pl
	bench/audit_verify.pl
	bench/git_gateway.pl
	bench/kube_exec.pl

# not part of make test either: a minute of sustained mixed load, then the
# audit trail checked for completeness (STRESS_SECONDS, STRESS_SESSIONS)
STRESS_SECONDS ?= 60
STRESS_SESSIONS ?= 200

stress: modules
	bench/stress_pg.pl $(STRESS_SECONDS) $(STRESS_SESSIONS)

fuzz: $(FUZZ_BINS)
	@set -eo pipefail; for f in $(FUZZ_BINS); do \
	    name=$${f#build-fuzz/fuzz_}; \
	    mkdir -p build-fuzz/corpus/$$name; \
	    echo "fuzzing $$name for $(FUZZ_SECONDS)s"; \
	    $$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	        -artifact_prefix=build-fuzz/$$name- \
	        build-fuzz/corpus/$$name fuzz/corpus/$$name 2>&1 \
	        | grep -E '^(stat::number_of_executed_units|==|SUMMARY)' ; \
	done

demo: modules
	tools/hoop-demo start

demo-stop:
	tools/hoop-demo stop

style:
	@../shared/tools/style-check

clean:
	rm -rf build build-asan build-fuzz
