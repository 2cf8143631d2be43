# shellcheck shell=bash
# Sourced by scripts/test.d/*.sh that need the workspace's debug binaries (the sandbox, the
# `andal` command, uniffi-bindgen, libandal_uniffi, the examples).
#
# debug_build builds them in exactly the configuration of scripts/test.sh's
# `cargo test --workspace --all-features`: the same packages, features and active
# dev-dependencies, so right after that step it only checks fingerprints. A script that ran
# `cargo build -p X` or `cargo run -p X --example Y` instead had features resolved for X
# alone: cargo then compiled the workspace crates, and every dependency whose features
# differ (tokio, hyper, rustls, serde_json...) with all their dependents, once more per such
# feature set (about 190 extra debug compilations on a new machine, and the workspace
# crates again in each feature set after every fresh clone). Run alone on a cold target
# directory it builds the workspace's tests too: the price of sharing one build.
#
# Binaries: $(debug_dir)/andal-sandbox, andal, uniffi-bindgen, libandal_uniffi.so;
# examples under $(debug_dir)/examples/.
debug_build() {
  # `--lib` too: libandal_uniffi.so is the cdylib of a lib target, which `--tests` alone does
  # not link (the workspace run's `cargo test` does, for doctests; a script run alone needs it).
  cargo build --quiet --locked --workspace --all-features --lib --bins --examples --tests
}

# The debug output directory of the target dir in use (CARGO_TARGET_DIR or ./target).
debug_dir() {
  local target="${CARGO_TARGET_DIR:-$PWD/target}"
  case "$target" in /*) ;; *) target="$PWD/$target" ;; esac
  printf '%s/debug\n' "$target"
}
