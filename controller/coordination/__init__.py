"""Who may actuate: one ``Coordinator`` protocol, one module per backend (local; ZK later)."""
