"""Background workers: the dispatcher and periodic upkeep."""
