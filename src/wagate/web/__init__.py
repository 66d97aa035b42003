"""The HTTP surface: the Cloud API, wagate's `/api/v1`, the simulator's control API, operations."""
