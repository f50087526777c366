"""Prometheus monitoring: drift metrics for a Pushgateway or textfile, and the shipped Prometheus and
Grafana configs."""
