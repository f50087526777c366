"""Seldon Core on Kubernetes: the SeldonDeployment's settings, rendering and CRD check, and its
apply with rollback."""
