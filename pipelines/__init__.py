"""ZenML pipelines: wiring only, the logic lives in steps/."""
