"""The command line: `python run.py ...` (commands, console output, one error boundary)."""
