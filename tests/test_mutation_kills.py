"""Tests written to kill surviving mutants of `make mutation` (docs/mutation.md) that fit no
other test module. Each checks the mathematics (closed forms, identities between code paths),
not an implementation detail."""
