"""Every prompt the agents send, one template file per task."""
