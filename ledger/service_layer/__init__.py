"""The use cases (one module per family of AWS operations) and how a command runs."""
