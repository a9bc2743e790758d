"""The gate: vehicles in and out by plate or ticket, fees at the booth, the operator dashboard."""
