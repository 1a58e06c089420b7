"""A one-off task (restart = "never"): exported as a Kubernetes Job."""

print("report done")
