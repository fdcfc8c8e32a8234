"""The model: aggregates, the account directory, errors, ids, the clock and instants. No I/O."""
