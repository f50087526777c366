"""`python run.py servers up|down|status`: the real servers of the server-backed stacks, on this machine."""
