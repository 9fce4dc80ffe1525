# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# podscope build, in the manner of libbpf-tools: BPF objects are compiled with
# clang against the vendored vmlinux.h (CO-RE), turned into skeletons with
# `bpftool gen skeleton`, and the user side links against the system libbpf.
# Everything generated lands in $(OUTPUT); the source tree stays clean.

OUTPUT ?= build
CLANG ?= clang
CC ?= cc
BPFTOOL ?= bpftool
CLANG_FORMAT ?= clang-format
LLVM_STRIP ?= llvm-strip

ARCH ?= $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/' \
			-e 's/ppc64le/powerpc/' -e 's/mips.*/mips/' \
			-e 's/riscv64/riscv/' -e 's/loongarch64/loongarch/')
VMLINUX := bpf/vmlinux/$(ARCH)/vmlinux.h

VERSION := $(shell git describe --always --dirty 2>/dev/null || echo unknown)

PKGS := libbpf jansson libcurl libmicrohttpd yaml-0.1
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARNINGS := -Wall -Wextra -Werror
CFLAGS ?= -g -O2
ALL_CFLAGS := $(CFLAGS) $(WARNINGS) -std=gnu11 -D_GNU_SOURCE -iquote include -iquote src -iquote $(OUTPUT) \
	$(PKG_CFLAGS) -DPODSCOPE_VERSION='"$(VERSION)"'
LDLIBS := $(PKG_LIBS) -lelf -lz -lpthread

# BPF_PROG/BPF_KPROBE expand to functions whose context argument is often unused.
BPF_CFLAGS := -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) $(WARNINGS) -Wno-unused-parameter \
	-I$(dir $(VMLINUX)) -Ibpf -Iinclude

SAN_CFLAGS := -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
	-fno-sanitize-recover=all

# BPF programs: one file per concern in bpf/, each gets a skeleton.
BPF_APPS := doctor targets conn accel trace tpfloor
BPF_OBJS := $(patsubst %,$(OUTPUT)/%.bpf.o,$(BPF_APPS))
SKELS := $(patsubst %,$(OUTPUT)/%.skel.h,$(BPF_APPS))

# User-side library (everything but main), linked by the CLI and the tests.
LIB_SRCS := $(filter-out src/main.c,$(wildcard src/*.c))
LIB_OBJS := $(patsubst src/%.c,$(OUTPUT)/obj/%.o,$(LIB_SRCS))
SAN_OBJS := $(patsubst src/%.c,$(OUTPUT)/san/%.o,$(LIB_SRCS))

TEST_SRCS := $(wildcard tests/unit/test_*.c)
TESTS := $(patsubst tests/unit/%.c,$(OUTPUT)/tests/%,$(TEST_SRCS))
SAN_TESTS := $(patsubst tests/unit/%.c,$(OUTPUT)/tests-san/%,$(TEST_SRCS))

# Fuzz targets: tests/fuzz/fuzz_<name>.c fuzzes src/<name>.c on its own.
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZERS := $(patsubst tests/fuzz/%.c,$(OUTPUT)/fuzz/%,$(FUZZ_SRCS))
FUZZ_CFLAGS := -g -O1 -fno-omit-frame-pointer $(WARNINGS) -std=gnu11 -D_GNU_SOURCE -iquote src \
	-fno-sanitize-recover=all

FORMAT_SRCS := $(wildcard src/*.c src/*.h include/*.h bpf/*.bpf.c bpf/*.bpf.h tests/tools/*.c bench/*.c \
	tests/unit/*.c tests/unit/*.h tests/fuzz/*.c lab/app/*.c)

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

.PHONY: all
all: $(OUTPUT)/podscope $(OUTPUT)/podscope-labapp $(OUTPUT)/pingpong $(OUTPUT)/connfan $(OUTPUT)/otlp-send $(OUTPUT)/reqs-replay \
	$(OUTPUT)/tpfloor

$(OUTPUT) $(OUTPUT)/obj $(OUTPUT)/san $(OUTPUT)/tests $(OUTPUT)/tests-san $(OUTPUT)/fuzz:
	$(Q)mkdir -p $@

# --- kernel side -----------------------------------------------------------

$(OUTPUT)/%.bpf.o: bpf/%.bpf.c $(wildcard bpf/*.bpf.h include/*.h) $(VMLINUX) | $(OUTPUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@
	$(Q)$(LLVM_STRIP) -g $@ # DWARF only: BTF stays

$(OUTPUT)/%.skel.h: $(OUTPUT)/%.bpf.o | $(OUTPUT)
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $*_bpf > $@.tmp && mv $@.tmp $@

# Regenerate the vendored vmlinux.h from the running kernel's BTF.
.PHONY: vmlinux
vmlinux:
	$(Q)mkdir -p $(dir $(VMLINUX))
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $(VMLINUX).tmp
	$(Q)mv $(VMLINUX).tmp $(VMLINUX)

# --- user side -------------------------------------------------------------

$(OUTPUT)/obj/%.o: src/%.c $(wildcard src/*.h include/*.h) $(SKELS) | $(OUTPUT)/obj
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -c $< -o $@

$(OUTPUT)/san/%.o: src/%.c $(wildcard src/*.h include/*.h) $(SKELS) | $(OUTPUT)/san
	$(call msg,CC-SAN,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $(SAN_CFLAGS) -c $< -o $@

# Web UI assets (web/) embedded in the binary: one C array per file in a
# generated header that src/api.c includes. od is in coreutils.
WEB_ASSETS := $(sort $(wildcard web/*))
$(OUTPUT)/web_assets.h: $(WEB_ASSETS) Makefile | $(OUTPUT)
	$(call msg,GEN,$@)
	$(Q){ echo '/* generated from web/ by make: do not edit */'; \
	  for f in $(WEB_ASSETS); do \
	    n=$$(basename $$f | tr -c 'a-zA-Z0-9\n' '_'); \
	    echo "static const unsigned char web_$$n[] = {"; \
	    od -An -v -tx1 $$f | sed -e 's/ *\([0-9a-f][0-9a-f]\)/0x\1,/g'; \
	    echo "};"; \
	  done; \
	  echo "static const struct web_asset web_assets[] = {"; \
	  for f in $(WEB_ASSETS); do \
	    n=$$(basename $$f | tr -c 'a-zA-Z0-9\n' '_'); \
	    echo "	{\"/$$(basename $$f)\", web_$$n, sizeof(web_$$n)},"; \
	  done; \
	  echo "};"; } >$@.tmp && mv $@.tmp $@

$(OUTPUT)/obj/api.o $(OUTPUT)/san/api.o: $(OUTPUT)/web_assets.h

$(OUTPUT)/libpodscope.a: $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(OUTPUT)/libpodscope-san.a: $(SAN_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(OUTPUT)/podscope: src/main.c $(OUTPUT)/libpodscope.a | $(OUTPUT)
	$(call msg,BINARY,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $< $(OUTPUT)/libpodscope.a $(LDLIBS) -o $@

$(OUTPUT)/podscope-san: src/main.c $(OUTPUT)/libpodscope-san.a | $(OUTPUT)
	$(call msg,BINARY,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $(SAN_CFLAGS) $< $(OUTPUT)/libpodscope-san.a $(LDLIBS) -o $@

$(OUTPUT)/podscope-labapp: lab/app/labapp.c | $(OUTPUT)
	$(call msg,BINARY,$@)
	$(Q)$(CC) -g -O2 $(WARNINGS) -std=gnu11 $< -lpthread -o $@

$(OUTPUT)/pingpong: bench/pingpong.c | $(OUTPUT)
	$(call msg,BINARY,$@)
	$(Q)$(CC) -g -O2 $(WARNINGS) -std=gnu11 -D_GNU_SOURCE $< -o $@

# Many connections between two processes, for bench/conns-scaling.
$(OUTPUT)/connfan: bench/connfan.c | $(OUTPUT)
	$(call msg,BINARY,$@)
	$(Q)$(CC) -g -O2 $(WARNINGS) -std=gnu11 -D_GNU_SOURCE $< -o $@

# The socket probes' floor: two empty programs on their tracepoints (docs/benchmarks.md).
$(OUTPUT)/tpfloor: bench/tpfloor.c $(OUTPUT)/tpfloor.skel.h | $(OUTPUT)
	$(call msg,BINARY,$@)
	$(Q)$(CC) -g -O2 $(WARNINGS) -std=gnu11 -I$(OUTPUT) $< $(LDLIBS) -o $@

# What the agent's user side spends per payload sample (docs/benchmarks.md).
$(OUTPUT)/reqs-replay: bench/reqs_replay.c $(OUTPUT)/libpodscope.a | $(OUTPUT)
	$(call msg,BINARY,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $< $(OUTPUT)/libpodscope.a $(LDLIBS) -o $@

# --- tests -----------------------------------------------------------------

# Test driver of the trace exporters for tests/integration/test_otlp.sh; the
# -san build is what that test uses with PODSCOPE_SAN=1.
$(OUTPUT)/otlp-send: tests/tools/otlp_send.c $(OUTPUT)/libpodscope.a | $(OUTPUT)
	$(call msg,BINARY,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $< $(OUTPUT)/libpodscope.a $(LDLIBS) -o $@

$(OUTPUT)/otlp-send-san: tests/tools/otlp_send.c $(OUTPUT)/libpodscope-san.a | $(OUTPUT)
	$(call msg,BINARY,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $(SAN_CFLAGS) $< $(OUTPUT)/libpodscope-san.a $(LDLIBS) -o $@

$(OUTPUT)/tests/%: tests/unit/%.c $(OUTPUT)/libpodscope.a $(wildcard tests/unit/*.h) | $(OUTPUT)/tests
	$(call msg,TEST,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -Itests/unit $< $(OUTPUT)/libpodscope.a $(LDLIBS) -lcmocka -o $@

$(OUTPUT)/tests-san/%: tests/unit/%.c $(OUTPUT)/libpodscope-san.a $(wildcard tests/unit/*.h) | $(OUTPUT)/tests-san
	$(call msg,TEST-SAN,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $(SAN_CFLAGS) -Itests/unit $< $(OUTPUT)/libpodscope-san.a \
		$(LDLIBS) -lcmocka -o $@

# libFuzzer when clang has its runtime (Debian: libclang-rt-dev), else the
# standalone driver (tests/fuzz/driver.c) under ASan/UBSan with $(CC).
$(OUTPUT)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c src/%.c tests/fuzz/driver.c $(wildcard src/*.h) | $(OUTPUT)/fuzz
	$(call msg,FUZZ,$@)
	$(Q)if printf 'int LLVMFuzzerTestOneInput(const char *d, long n)\n{ return d && n; }\n' | \
		$(CLANG) -x c -fsanitize=fuzzer - -o $@.probe >/dev/null 2>&1; then \
		rm -f $@.probe; \
		$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer,address,undefined $< src/$*.c -o $@; \
	else \
		rm -f $@.probe; \
		echo "  (no libFuzzer runtime in $(CLANG): standalone driver)"; \
		$(CC) $(FUZZ_CFLAGS) $(SAN_CFLAGS) $< src/$*.c tests/fuzz/driver.c -o $@; \
	fi

.PHONY: fuzz fuzz-run
fuzz: $(FUZZERS)

# A bounded run (FUZZ_SECONDS per target, default 40) from the seed corpora.
fuzz-run: fuzz
	$(Q)OUTPUT=$(OUTPUT) tests/fuzz/run.sh

# `make test` is the one command CI runs on a fresh machine: it installs what
# is missing, then re-enters make so pkg-config sees the installed libraries.
.PHONY: test test-all test-unit test-san test-integration
test:
	$(Q)tools/install-deps.sh --if-missing
	$(Q)$(MAKE) --no-print-directory test-all

test-all: all format-check $(TESTS) $(SAN_TESTS) $(OUTPUT)/podscope-san fuzz
	$(Q)OUTPUT=$(OUTPUT) tests/run-all.sh

test-unit: $(TESTS)
	$(Q)tests/run-unit.sh $(TESTS)

test-san: $(SAN_TESTS) $(OUTPUT)/podscope-san
	$(Q)ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		tests/run-unit.sh $(SAN_TESTS)

test-integration: all
	$(Q)for t in tests/integration/test_*.sh tests/lab/test_*.sh; do $$t || exit 1; done

# --- demo, deps, format, clean ----------------------------------------------

.PHONY: demo deps format format-check clean
demo:
	$(Q)tools/install-deps.sh --if-missing
	$(Q)$(MAKE) --no-print-directory all
	$(Q)./demo.sh

deps:
	$(Q)tools/install-deps.sh

format:
	$(Q)$(CLANG_FORMAT) -i $(FORMAT_SRCS)

format-check:
	$(call msg,FORMAT,check)
	$(Q)$(CLANG_FORMAT) --dry-run --Werror $(FORMAT_SRCS)

clean:
	$(Q)rm -rf $(OUTPUT)

# Keep intermediate objects (skeletons are precious, make would delete them).
.SECONDARY:
