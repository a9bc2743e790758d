"""EV charging: stations on ev spots, charging sessions, meter readings and their bill lines."""
