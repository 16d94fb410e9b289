"""ZenML stack recipes (local, s3, kubernetes), the commands that switch them, and their tools."""
