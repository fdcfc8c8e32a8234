"""Read models of the ledger: each is built from the event log and can be rebuilt from it."""
