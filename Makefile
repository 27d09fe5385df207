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
ALL_CFLAGS = -std=gnu11 -pthread $(WARN) $(CFLAGS) $(shell pkg-config --cflags $(PKGS))
LIBS    := $(shell pkg-config --libs $(PKGS)) -pthread

ifeq ($(SANITIZE),1)
ALL_CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS    += -fsanitize=address,undefined
BUILD   := build/san
else
BUILD   := build/rel
endif

SRCS := $(wildcard src/*.c src/arch/*.c src/exec/*.c)
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

# The executor that runs inside targets (src/exec/exec.c) is copied into
# them byte for byte: freestanding, position-independent, general-purpose
# registers only (the application's FPU/vector state is never touched), no
# instrumentation; checked to need nothing outside its own section.
EXEC_CFLAGS := -std=gnu11 -O2 $(WARN) -ffreestanding -fno-builtin -fno-stack-protector \
	       -fno-stack-clash-protection -fpic -fno-plt -fno-jump-tables -fno-asynchronous-unwind-tables \
	       -fno-unwind-tables -fno-exceptions -mgeneral-regs-only -fno-sanitize=all -fno-ipa-cp -fno-ipa-sra
$(BUILD)/src/exec/%.o: src/exec/%.c scripts/check-exec-object
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(EXEC_CFLAGS) -MMD -MP -c -o $@ $<
	scripts/check-exec-object $@

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
