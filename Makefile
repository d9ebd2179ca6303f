# The two commands of README.md:
#   make reports   set up .venv and produce the sample reports (offline HTML in reports/)
#   make test      run the whole test suite (package tests, notebook runs)
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: reports test sample benchmark clean browser

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(STAMP)

reports: $(STAMP)
	$(VENV)/bin/equity-workbook batch --data data/sample --out reports

# Browser tests use Debian's chromium through Playwright (never a downloaded browser).
browser:
	@command -v chromium >/dev/null || { apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

test: $(STAMP) browser
	$(PY) -m pytest -q tests

sample: $(STAMP)
	$(VENV)/bin/equity-workbook sample --out data/sample

benchmark: $(STAMP)
	$(PY) benchmarks/bench_measures.py
	$(PY) benchmarks/bench_batch.py
	$(PY) benchmarks/bench_import.py

clean:
	rm -rf $(VENV) reports
