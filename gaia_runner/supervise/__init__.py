"""One app's life: state machine, restarts and backoff, monitors, scaling, prestart."""
