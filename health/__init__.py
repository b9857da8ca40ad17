"""Health: probes → samples → component states (rise/fall hysteresis) → HealthSnapshot."""
