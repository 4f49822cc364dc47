# seal — the two commands of the README, and the developer targets beside them.
#   make run    installs what is missing, builds, runs the main job on the embedded default
#   make test   installs what is missing, builds, runs every test
SHELL := /bin/bash
SWIFT ?= swift
SEAL := .build/release/seal
SHARED ?= ../shared
RUN_DIR ?= runs

.PHONY: all deps build run test bench fixtures clean

all: build

deps:
	@scripts/install-deps.sh

build: deps
	$(SWIFT) build -c release

# The main job. Until the toy world lands (its own pretrained model and fictional facts), it builds a small demo
# model of its own (random weights, a config in jobs/) and describes it; when ../shared is present it scores a text
# with the pretrained tinystories model and runs a 2-round ReSTEM knowledge job on real SQuAD passages under
# mpirun -np 2, writing runs/knowledge-tiny.h5.
MPIRUN ?= mpirun --allow-run-as-root --oversubscribe --bind-to none --mca btl self,vader --mca btl_vader_single_copy_mechanism none
run: build
	@mkdir -p $(RUN_DIR)
	$(SEAL) model init --config jobs/demo-model.json --out $(RUN_DIR)/demo-model --seed 1 --dtype bf16
	$(SEAL) model info $(RUN_DIR)/demo-model
	@if [ -d $(SHARED)/models/tinystories-656k ]; then \
	  $(SEAL) model info $(SHARED)/models/tinystories-656k && \
	  printf 'Once upon a time, there was a little girl named Lily. She loved to play outside.' > $(RUN_DIR)/demo.txt && \
	  $(SEAL) score --model $(SHARED)/models/tinystories-656k --text-file $(RUN_DIR)/demo.txt && \
	  $(MPIRUN) -np 2 $(SEAL) knowledge train --config jobs/knowledge-tiny.toml --out $(RUN_DIR)/knowledge-tiny.h5 \
	    --overwrite --set run.threads=1; \
	fi

test: deps
	$(SWIFT) build -c release --build-tests
	$(SWIFT) test -c release --skip-build --disable-swift-testing

# Benchmarks (not tests): a Qwen2.5-0.5B-shaped model beside transformers / PEFT, same threads.
bench: build
	scripts/oracle-venv.sh
	scripts/bench/forward.sh
	scripts/bench/generate.sh
	scripts/bench/train.sh

# Regenerates the committed oracle fixtures with transformers (needs the venv; not part of the tests).
fixtures: build
	scripts/oracle-venv.sh
	.venv/bin/python scripts/fixtures/make_model_fixtures.py
	.venv/bin/python scripts/fixtures/make_tokenizer_fixtures.py
	.venv/bin/python scripts/fixtures/make_generation_fixtures.py
	.venv/bin/python scripts/fixtures/make_training_fixtures.py
	.venv/bin/python scripts/fixtures/toyworld_tokenizer.py --seal $(SEAL)

clean:
	rm -rf .build $(RUN_DIR)
