"""Stack component flavors the project provides (registered by `stacks/registry.py`)."""
