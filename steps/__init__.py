"""ZenML steps: thin wrappers over the plain functions defined next to them."""
