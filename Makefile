# Set-up, build and tests on a fresh Debian machine. `make demo` and `make test` are the two
# commands the README promises; .ci/run runs `make test`.

APT_PACKAGES := pkg-config libopenblas-dev libfftw3-dev libsndfile1-dev libhdf5-dev \
                libsoxr-dev libcairo2-dev liblapacke-dev libopenmpi-dev openmpi-bin \
                libfluidsynth-dev fluid-soundfont-gm

.PHONY: deps build release test demo bench clean

# Installs the system libraries that are missing (apt-get as root, sudo otherwise).
deps:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing:$$missing"; \
	  if [ "$$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi; \
	  $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq $$missing; \
	fi
	@# h5py lets the tests check that h5py reads our checkpoints (they are skipped without it).
	@python3 -c "import h5py" 2>/dev/null || python3 -m pip install --quiet h5py || echo "note: h5py not installed; the h5py checks will be skipped"

build: deps
	swift build

release: deps
	swift build -c release

test: deps
	swift test

demo: release
	swift run -c release cnnsep demo

bench: release
	swift run -c release cnnsep bench

clean:
	rm -rf .build
