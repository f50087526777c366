"""MLServer, Seldon's inference runtime, as the local model deployer: flavor, deployer, service,
model repository, serving environment, runtime and process supervision."""
