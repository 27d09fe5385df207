# sockreap — plain Makefile. `make` builds ./sockreap; `make check` runs every test.
PREFIX  ?= /usr/local
SBINDIR ?= $(PREFIX)/sbin
MANDIR  ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
VERSION := 0.1.0

CC      ?= cc
PKGS    := libmnl libunwind-ptrace libunwind-generic
CFLAGS  ?= -O2 -g
WARN    := -Wall -Wextra -Werror -Wformat=2 -Wstrict-prototypes -Wmissing-prototypes \
           -Wshadow -Wno-unused-parameter
CPPFLAGS += -D_GNU_SOURCE -DSOCKREAP_VERSION='"$(VERSION)"' -Isrc
ALL_CFLAGS = -std=gnu11 $(WARN) $(CFLAGS) $(shell pkg-config --cflags $(PKGS))
LIBS    := $(shell pkg-config --libs $(PKGS))

ifeq ($(SANITIZE),1)
ALL_CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS    += -fsanitize=address,undefined
BUILD   := build/san
else
BUILD   := build/rel
endif

SRCS := $(wildcard src/*.c src/arch/*.c)
OBJS := $(SRCS:%.c=$(BUILD)/%.o)
LIBOBJS := $(filter-out $(BUILD)/src/main.o,$(OBJS))

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)

TARGET_SRCS := $(wildcard tests/targets/*.c)
TARGET_BINS := $(TARGET_SRCS:tests/targets/%.c=tests/bin/%) \
               $(patsubst tests/targets/%.c,tests/bin/%-static,$(filter tests/targets/blocker.c,$(TARGET_SRCS)))

# ./sockreap is whichever build ran last (SANITIZE=1 check tests the
# sanitizer build through it), so it is always refreshed.
.PHONY: all clean sockreap check unit integration install uninstall demo bench lint
all: sockreap

sockreap: $(BUILD)/sockreap
	cp $< $@.tmp && mv -f $@.tmp $@

$(BUILD)/sockreap: $(OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/tests/test_%: tests/unit/test_%.c $(LIBOBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) $(shell pkg-config --cflags cmocka) -MMD -MP -o $@ $(filter %.c %.o,$^) \
		$(LDFLAGS) $(LIBS) $(shell pkg-config --libs cmocka)

# Test targets are deliberately built without sanitizers: they are the
# "production processes" sockreap reaches into, and must behave like them.
tests/bin/%: tests/targets/%.c $(wildcard tests/targets/*.h)
	@mkdir -p tests/bin
	$(CC) -std=gnu11 -D_GNU_SOURCE -O1 -g $(WARN) -pthread -o $@ $< 

tests/bin/%-static: tests/targets/%.c $(wildcard tests/targets/*.h)
	@mkdir -p tests/bin
	$(CC) -std=gnu11 -D_GNU_SOURCE -O1 -g $(WARN) -pthread -static -o $@ $<

unit: $(UNIT_BINS)
	@fail=0; for t in $(UNIT_BINS); do echo "== $$t"; $$t || fail=1; done; exit $$fail

integration: sockreap $(TARGET_BINS)
	bash tests/integration/run.sh

check: unit integration

bench: sockreap $(TARGET_BINS)
	bash scripts/bench

demo: sockreap $(TARGET_BINS)
	bash scripts/demo

lint:
	mandoc -Tlint -Wwarning man/sockreap.8

install: sockreap
	install -D -m 0755 sockreap $(DESTDIR)$(SBINDIR)/sockreap
	install -D -m 0644 man/sockreap.8 $(DESTDIR)$(MANDIR)/man8/sockreap.8
	install -D -m 0644 scripts/sockreap.bash-completion $(DESTDIR)$(BASHCOMPDIR)/sockreap

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/sockreap $(DESTDIR)$(MANDIR)/man8/sockreap.8 \
	      $(DESTDIR)$(BASHCOMPDIR)/sockreap

clean:
	rm -rf build tests/bin sockreap

-include $(OBJS:.o=.d) $(UNIT_BINS:=.d)

# Small developer tools linked with the library objects (e.g. the recorder
# of tests/fixtures): tests/tools/NAME.c -> $(BUILD)/tools/NAME
$(BUILD)/tools/%: tests/tools/%.c $(LIBOBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -MMD -MP -o $@ $(filter %.c %.o,$^) $(LDFLAGS) $(LIBS)

# ---- Fuzzing (libFuzzer, needs clang) and valgrind: apart from the build ----
# `make fuzz` builds tests/fuzz/fuzz_*.c with every library source under
# -fsanitize=fuzzer,address,undefined and runs each for FUZZ_SECONDS, seeded
# from tests/fixtures and tests/fuzz/seeds; a finding fails the run and is
# left in build/fuzz/artifacts (copy it into tests/fuzz/regress/NAME/, where
# `make unit` replays it). `make valgrind` runs the unit tests and a subset
# of the integration tests under memcheck.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_SAN     := address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS  := -std=gnu11 -g -O1 $(shell pkg-config --cflags $(PKGS))
FUZZ_NAMES   := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS    := $(FUZZ_NAMES:%=build/fuzz/fuzz_%)
FUZZ_OBJS    := $(patsubst %.c,build/fuzz/obj/%.o,$(filter-out src/main.c,$(SRCS)))

build/fuzz/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link,$(FUZZ_SAN) -MMD -MP -c -o $@ $<

build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(FUZZ_OBJS)
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer,$(FUZZ_SAN) -o $@ $< $(FUZZ_OBJS) $(LIBS)

-include $(FUZZ_OBJS:.o=.d)

.PHONY: fuzz fuzz-build valgrind
fuzz-build: $(FUZZ_BINS)
fuzz: fuzz-build
	bash scripts/fuzz-run $(FUZZ_SECONDS) $(FUZZ_NAMES)

VALGRIND_UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=build/rel/tests/%)
valgrind:
	$(MAKE) SANITIZE= sockreap $(VALGRIND_UNIT_BINS) $(TARGET_BINS)
	bash scripts/valgrind-run $(VALGRIND_UNIT_BINS)
