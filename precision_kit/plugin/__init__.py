"""The parts of precision_kit's pytest plugin (`precision_kit.pytest_plugin` holds the hooks
and fixtures; these modules hold what they do): the run's state and options, this run's
ledger, the expected-verdict check, xdist's serial timing turns and merged autosave, shards,
the progress line and the end-of-session summary."""
