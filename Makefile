# Every target bootstraps what it needs: a fresh clone with Python 3.11, make and node/npm is enough.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
MEDIA_CHECKS ?= on
HOST ?= 127.0.0.1
BASE_URL ?= http://$(HOST):$(PORT)
PY_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed

.PHONY: venv node redis chromium buildah mock test test-serial lint generate check-generated check-install contract contract-live bench soak image image-test clean

# Debian packages the tests start themselves (on free loopback ports), installed when missing.
APT_INSTALL = SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq

$(PY_STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

venv: $(PY_STAMP)
node: $(NODE_STAMP)

## redis-server (Debian), for the Redis-state tests, benchmarks and soak.
redis:
	@command -v redis-server >/dev/null || [ -x /usr/bin/redis-server ] || { $(APT_INSTALL) redis-server; }

## Chromium and its WebDriver (Debian), for the dashboard's browser tests (tests/dashboard): nothing is downloaded at run time.
chromium:
	@[ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ] || { $(APT_INSTALL) chromium chromium-driver; }

## buildah and debootstrap (Debian), for the container images (make image, make image-test).
buildah:
	@command -v buildah >/dev/null && [ -x /usr/sbin/debootstrap ] || { $(APT_INSTALL) buildah debootstrap; }

## The mock server on $(HOST):$(PORT) (make mock PORT=8123; MEDIA_CHECKS=off for lifecycle-only).
mock: venv
	$(BIN)/dashscope-mock serve --host $(HOST) --port $(PORT) --media-checks $(MEDIA_CHECKS)

## Every test: spec, mock, SDK, media, the dashboard in headless Chromium and the in-process contract tests, on every
## core (pytest-xdist; each test has its own ports, folders and servers). make test-serial: one process, same tests.
TEST_WORKERS ?= auto
test: venv node redis chromium
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS)

test-serial: venv node redis chromium
	$(BIN)/python -m pytest -q -p no:xdist

## Spec validators and linters, ruff and mypy on the hand-written code.
lint: venv node
	$(BIN)/openapi-spec-validator openapi/dashscope-video.yaml openapi/mock-control.yaml
	node_modules/.bin/redocly lint --format=stylish openapi/dashscope-video.yaml openapi/mock-control.yaml
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

## Regenerate generated/ from the spec, then api.md from the SDK's public surface.
generate: venv
	scripts/generate_client.sh
	$(BIN)/python scripts/generate_api_md.py

## Fail when generated/ differs from what the spec generates.
check-generated: venv
	scripts/check_generated.sh

## pip install . in a fresh temp venv: SDK and CLI without the mock's dependencies, a call to the mock; then '.[mock]'.
check-install: venv
	PYTHON=$(PYTHON) scripts/check_install.sh

## schemathesis' CLI against a running mock (make mock), or any deployment: make contract BASE_URL=...; against a
## non-loopback BASE_URL the operations the service bills are left out unless ALLOW_BILLABLE=1 (it says so at start).
## Two runs: the project's (schemathesis.toml + scripts/contract_hooks.py), then a third party's (scripts/
## contract_defaults.sh: schemathesis' defaults, --checks all, no project config; only the spec's two documented
## 400s to schema-valid requests are excused, docs/SPEC.md).
contract: venv
	ALLOW_BILLABLE="$(ALLOW_BILLABLE)" scripts/contract_cli.sh "$(BASE_URL)"
	ALLOW_BILLABLE="$(ALLOW_BILLABLE)" scripts/contract_defaults.sh "$(BASE_URL)"

## griffe's breaking-change check of the public Python API (dashscope_video, dashscope_video_client) against
## API_BASE (default: the newest v* tag, else HEAD~1; a branch: API_BASE=origin/main). A deliberate break is listed in
## CHANGELOG.md [Unreleased]. API_FETCH=1 deepens a shallow clone that lacks the baseline (.ci/run sets it).
API_BASE ?=
API_FETCH ?=
api-check: venv
	$(BIN)/python scripts/api_check.py $(if $(API_BASE),--against "$(API_BASE)") $(if $(filter 1,$(API_FETCH)),--fetch)

## docs/COVERAGE.md: which x-error-catalogue codes, x-limits entries, parameters' bounds and task statuses the tests
## name; fails when a catalogue code is named by no test.
coverage-report: venv
	$(BIN)/python scripts/coverage_report.py --check

## A free subset against the real service through the validating proxy; needs DASHSCOPE_API_KEY. Leaves the
## recordings and the drift report in $(LIVE_DIR).
LIVE_DIR ?= out/live
contract-live: venv
	@test -n "$$DASHSCOPE_API_KEY" || echo "DASHSCOPE_API_KEY is not set: the live contract tests are SKIPPED (not run, not passed)."
	DASHSCOPE_LIVE=1 DASHSCOPE_LIVE_ARTIFACTS="$(LIVE_DIR)" $(BIN)/python -m pytest -q -rs contract_tests/test_live.py
	@test -z "$$DASHSCOPE_API_KEY" || echo "recordings and drift report: $(LIVE_DIR)/"

## Throughput against Prism and the bare route, scale, SDK; writes docs/BENCHMARKS.md (~12 min). Installs wrk (Debian).
bench: venv node redis
	@command -v wrk >/dev/null || { $(APT_INSTALL) wrk; }
	$(BIN)/python -m bench

## Reliability: load (memory; SQLite + 2 workers), kill -9 and restart, schemathesis fuzz (~10 min); fails on a violation.
soak: venv redis
	$(BIN)/python -m bench.soak

## The mock's OCI images, offline, with buildah: $(IMAGE):full (media checks) and $(IMAGE):slim (media checks off)
## from Containerfile, on a local Debian base made with debootstrap when missing (IMAGE_BASE=debian:bookworm-slim
## where a registry is reachable), packages from a wheelhouse of the lock (no index in the build). ~4 min the first time.
IMAGE ?= localhost/dashscope-mock
IMAGE_BASE ?= localhost/dashscope-mock-base:bookworm
VARIANTS ?= full slim
image: venv buildah
	IMAGE=$(IMAGE) IMAGE_BASE=$(IMAGE_BASE) scripts/image_build.sh $(VARIANTS)

## Runs each image's entrypoint (buildah run --isolation chroot, on a free loopback port) and tests it: make contract,
## the official dashscope SDK example, a media-on liveportrait MP4 (full), its HEALTHCHECK, a restart on a mounted
## SQLite state folder, an unwritable state folder. Measurements in out/image/test-results.json.
image-test: image
	$(BIN)/python scripts/image_test.py --image $(IMAGE) $(VARIANTS)

clean:
	rm -rf $(VENV) node_modules .pytest_cache .mypy_cache .ruff_cache .hypothesis
