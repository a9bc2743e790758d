"""API namespaces for staff at the car park: the gate and EV charging."""
