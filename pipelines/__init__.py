"""One module per pipeline; pipelines only wire steps and never branch on the stack."""
