"""The three-level reading agent. Every step it takes is reported as a typed event."""
