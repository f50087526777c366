"""Plain, unit-testable logic of the ML lifecycle; ZenML steps in `steps/` are thin wrappers over it."""
