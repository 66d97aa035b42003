"""Use cases: `check_*` validates, `do_*` writes; the only place that changes state."""
