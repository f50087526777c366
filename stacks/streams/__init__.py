"""Stream sources: a batch of records read from a stream and acknowledged only after the run that
used it succeeded (at-least-once: a failed or killed run's entries are read again)."""
