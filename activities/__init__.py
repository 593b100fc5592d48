"""Side effects of a journey: thin, idempotent adapters to the outside world."""
