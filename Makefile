# The two commands a new user runs: `make demo` and `make test`.
# Everything they need is provisioned here (a venv, Debian packages, the local
# Kubernetes control plane built once and cached in ~/.cache/aiops-rca).

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

.PHONY: help test demo demo-cluster provision browser venv controlplane lint contracts complexity typecheck unit e2e cluster-test crds crds-check bench clean image kind-e2e

help:
	@echo "make demo      run everything locally and watch six failures heal or escalate (Ctrl-C stops)"
	@echo "make test      provision, then ruff, mypy, CRD drift check, unit and e2e tests"
	@echo "make controlplane   build (once) and start the local Kubernetes control plane"
	@echo "make crds      regenerate crds/ from the API models"
	@echo "make cluster-test   the chart on a real local node (kubelet + containerd; needs root): tests/e2e/cluster"
	@echo "make demo-cluster   the demo against the chart on the local node (aiops-rca demo --in-cluster)"

test: provision browser lint typecheck crds-check unit e2e cluster-test

venv: $(STAMP)

$(STAMP): pyproject.toml
	@echo "==> creating $(VENV) and installing aiops-rca[dev]"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@# devtools/ (local cluster, demo, samples) is never installed: the dev venv finds it in the checkout.
	$(BIN)/python -c 'import site, sys; open(site.getsitepackages()[0] + "/aiops-rca-devtools.pth", "w").write(sys.argv[1] + "\n")' "$(CURDIR)"
	@touch $(STAMP)

provision: venv
	@echo "==> provisioning the local control plane binaries (built once, then cached)"
	$(BIN)/aiops-rca controlplane build

# Headless browser for the dashboard's browser tests and benchmark (Debian's; never downloaded by Playwright).
browser:
	@missing=""; for pkg in chromium chromium-driver; do \
	  dpkg-query -W -f='$${Status}' $$pkg 2>/dev/null | grep -q "ok installed" || missing="$$missing $$pkg"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "==> installing Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

controlplane: provision
	$(BIN)/aiops-rca controlplane start

lint: venv contracts complexity
	@echo "==> ruff"
	$(BIN)/ruff check .
	@echo "==> hadolint"
	$(BIN)/hadolint Dockerfile

# No product function over 80 lines or with cyclomatic complexity over 20 (ruff C901; the size test).
complexity: venv
	@echo "==> complexity gate"
	$(BIN)/ruff check --select C90 .
	$(BIN)/pytest -q tests/unit/test_function_size.py

# The layers of DESIGN.md as an import contract (.importlinter).
contracts: venv
	@echo "==> import contracts"
	$(BIN)/lint-imports --no-cache

typecheck: venv
	@echo "==> mypy (strict)"
	$(BIN)/mypy

crds: venv
	$(BIN)/aiops-rca crds

crds-check: venv
	@echo "==> CRDs match the models"
	$(BIN)/aiops-rca crds --check

unit: venv
	@echo "==> unit tests"
	$(BIN)/pytest tests/unit $(PYTEST_ARGS)

e2e: provision browser
	@echo "==> end-to-end tests (real kube-apiserver)"
	$(BIN)/pytest tests/e2e --ignore=tests/e2e/cluster $(PYTEST_ARGS)

# The chart as users install it, on a real node of the local control plane: kubelet and kube-scheduler
# built from the same cached source, containerd/runc/CNI and podman/mmdebstrap from Debian (installed by
# the suite's provisioning), the image built from the unchanged Dockerfile. Last step of `make test`.
cluster-test: provision browser
	@echo "==> cluster suite (the chart on a local node)"
	$(BIN)/pytest tests/e2e/cluster $(PYTEST_ARGS)

# The whole product locally: control plane, CRDs, default policy, sandbox, operator, receiver and
# dashboard as processes, six realistic failures fired through the receiver. Ctrl-C stops it all.
# With KUBECONFIG pointing at a reachable cluster, that cluster is used instead. DEMO_ARGS=--help lists options.
DEMO_ARGS ?=
demo: provision
	$(BIN)/aiops-rca demo $(DEMO_ARGS)

demo-cluster: provision
	$(BIN)/aiops-rca demo --in-cluster $(DEMO_ARGS)

bench: provision browser
	@for b in bench/*.py; do echo "==> $$b"; $(BIN)/python $$b || exit 1; done

# ---- Machines with a Docker engine (not needed for `make test`) ----
IMAGE ?= aiops-rca/aiops-rca:dev
KIND_CLUSTER ?= aiops-rca

image:
	docker build -t $(IMAGE) --build-arg REVISION=$$(git rev-parse --short HEAD) .

# Create a kind cluster, load the image, install the chart, run the e2e suite against it.
kind-e2e: venv image
	kind get clusters | grep -qx $(KIND_CLUSTER) || kind create cluster --name $(KIND_CLUSTER)
	kind load docker-image $(IMAGE) --name $(KIND_CLUSTER)
	kind get kubeconfig --name $(KIND_CLUSTER) > $(VENV)/kind.kubeconfig
	KUBECONFIG=$(VENV)/kind.kubeconfig helm upgrade --install aiops charts/aiops-rca \
	  --namespace aiops-system --create-namespace \
	  --set image.repository=$(firstword $(subst :, ,$(IMAGE))) \
	  --set image.tag=$(lastword $(subst :, ,$(IMAGE))) --set image.pullPolicy=Never
	KUBECONFIG=$(VENV)/kind.kubeconfig KUBECTL=kubectl HELM=helm $(BIN)/pytest tests/e2e --ignore=tests/e2e/cluster $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache test-artifacts
