# Top-level targets. `make demo` and `make test` work on a fresh machine:
# both install what they need first (make deps).
PYTHON ?= python3
PREFIX ?= /usr/local
PYTEST_ARGS ?=

.PHONY: all deps install test unit integration demo demo-stop bench lint man clean

all: man

deps:
	./tools/install-deps

man:
	$(PYTHON) tools/build-man man build/man

install: deps man
	$(PYTHON) -m pip install -q --disable-pip-version-check --root-user-action=ignore --no-build-isolation .
	install -d $(DESTDIR)$(PREFIX)/share/man/man7 $(DESTDIR)$(PREFIX)/share/man/man8
	for page in build/man/*.[78]; do \
	  install -m 0644 $$page $(DESTDIR)$(PREFIX)/share/man/man$${page##*.}/; done
	-mandb -q >/dev/null 2>&1
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)/etc/cron.d
	install -m 0755 daemons/ganeti-watcher daemons/ganeti-cleaner $(DESTDIR)$(PREFIX)/sbin/
	sed 's#@SBINDIR@#$(PREFIX)/sbin#g' doc/examples/ganeti.cron > $(DESTDIR)/etc/cron.d/ganeti
	chmod 0644 $(DESTDIR)/etc/cron.d/ganeti

# The whole suite: unit tests, then integration tests against real daemons.
test: deps man
	$(PYTHON) -m pytest -q $(PYTEST_ARGS) test

unit: deps
	$(PYTHON) -m pytest -q $(PYTEST_ARGS) test/unit

integration: deps
	$(PYTHON) -m pytest -q $(PYTEST_ARGS) test/integration

demo: deps
	$(PYTHON) tools/demo start

demo-stop:
	$(PYTHON) tools/demo stop

bench: deps
	$(PYTHON) bench/run.py

lint: deps
	$(PYTHON) -m ruff check ganeti daemons tools test bench
	$(PYTHON) -m compileall -q ganeti daemons tools test bench >/dev/null

clean:
	rm -rf build dist *.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
